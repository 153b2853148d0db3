//go:build !race

package session

// raceEnabled is true under -race, whose instrumentation allocates and
// makes allocation counts meaningless.
const raceEnabled = false
