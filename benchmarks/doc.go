// Package benchmarks measures Gatehouse side by side with the floor (the
// least work the same job can take) and with peer libraries, in one run.
// Sub-benchmarks are named for whose code runs: gatehouse, floor, baseline,
// echo, auth0, ulule, ... See README.md for the table and the command.
package benchmarks
