//go:build race

package otelauth_test

// raceEnabled is true under -race, whose instrumentation allocates and
// makes allocation counts meaningless.
const raceEnabled = true
