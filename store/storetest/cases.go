package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// suiteCase is one subtest of a suite, run on a new store.
type suiteCase[S any] struct {
	name string
	run  func(t *testing.T, s S)
}

// runCases runs each case as a subtest, on a store newStore returns inside
// the subtest.
func runCases[S any](t *testing.T, newStore func(t *testing.T) S, cases []suiteCase[S]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			tc.run(t, s)
		})
	}
}
