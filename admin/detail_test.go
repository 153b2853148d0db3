package admin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestForbiddenDetail(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
		ok   bool
	}{
		{"outranked", errOutranked, "A key cannot be issued for a user of a higher level than yours", true},
		{"wrapped", fmt.Errorf("x: %w", errOutranked), "A key cannot be issued for a user of a higher level than yours", true},
		{"not found", ErrNotFound, "", false},
		{"bare sentinel", ErrForbidden, "", false},
		{"other", errors.New("boom"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ForbiddenDetail(tt.err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.ok, ok)
		})
	}
}
