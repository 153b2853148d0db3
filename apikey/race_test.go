//go:build race

package apikey_test

// raceEnabled is true under -race, whose instrumentation allocates and
// makes allocation counts meaningless.
const raceEnabled = true
