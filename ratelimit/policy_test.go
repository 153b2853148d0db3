package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPolicy(t *testing.T) {
	tests := []struct {
		name      string
		pname     string
		limit     int
		window    time.Duration
		burst     int
		wantErr   bool
		wantBurst int
		wantIvl   time.Duration
	}{
		{"simple", "default", 100, time.Minute, 0, false, 100, 600 * time.Millisecond},
		{"explicit burst", "login", 5, 15 * time.Minute, 3, false, 3, 3 * time.Minute},
		{"burst above limit", "b", 10, time.Second, 50, false, 50, 100 * time.Millisecond},
		{"name with dots and dashes", "api.v1-read_x", 1, time.Second, 0, false, 1, time.Second},
		{"a million a second", "fast", 1_000_000, time.Second, 0, false, 1_000_000, time.Microsecond},
		{"empty name", "", 1, time.Second, 0, true, 0, 0},
		{"name with a quote", `a"b`, 1, time.Second, 0, true, 0, 0},
		{"name with a space", "a b", 1, time.Second, 0, true, 0, 0},
		{"name too long", strings.Repeat("a", 65), 1, time.Second, 0, true, 0, 0},
		{"zero limit", "p", 0, time.Second, 0, true, 0, 0},
		{"negative limit", "p", -1, time.Second, 0, true, 0, 0},
		{"limit too high", "p", MaxLimit + 1, MaxWindow, 0, true, 0, 0},
		{"negative burst", "p", 1, time.Second, -1, true, 0, 0},
		{"burst too high", "p", 1, time.Second, MaxLimit + 1, true, 0, 0},
		{"window below a second", "p", 1, time.Millisecond, 0, true, 0, 0},
		{"window not whole seconds", "p", 1, 1500 * time.Millisecond, 0, true, 0, 0},
		{"window too long", "p", 1, MaxWindow + time.Second, 0, true, 0, 0},
		{"finer than a microsecond", "p", 1_000_001, time.Second, 0, true, 0, 0},
		{"bucket too deep", "p", 1, MaxWindow, MaxLimit, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(tt.pname, tt.limit, tt.window, tt.burst)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidPolicy)
				assert.Nil(t, p)
				assert.Panics(t, func() { MustPolicy(tt.pname, tt.limit, tt.window, tt.burst) })
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.pname, p.Name())
			assert.Equal(t, tt.limit, p.Limit())
			assert.Equal(t, tt.window, p.Window())
			assert.Equal(t, tt.wantBurst, p.Burst())
			assert.Equal(t, tt.wantIvl, p.Interval())
		})
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in         string
		wantErr    bool
		wantLimit  int
		wantWindow time.Duration
		wantBurst  int
		wantString string
	}{
		{"100/1m", false, 100, time.Minute, 100, "100/1m"},
		{"100/m", false, 100, time.Minute, 100, "100/1m"},
		{"  100/60s\t", false, 100, time.Minute, 100, "100/1m"},
		{"5/15m;burst=3", false, 5, 15 * time.Minute, 3, "5/15m;burst=3"},
		{"10000/1d", false, 10000, 24 * time.Hour, 10000, "10000/1d"},
		{"1/90s", false, 1, 90 * time.Second, 1, "1/90s"},
		{"2/48h", false, 2, 48 * time.Hour, 2, "2/2d"},
		{strings.Repeat(" ", 30) + "1/1m", false, 1, time.Minute, 1, "1/1m"},
		{"1000/1h;burst=50", false, 1000, time.Hour, 50, "1000/1h;burst=50"},
		{"", true, 0, 0, 0, ""},
		{"100", true, 0, 0, 0, ""},
		{"100/", true, 0, 0, 0, ""},
		{"/1m", true, 0, 0, 0, ""},
		{"0/1m", true, 0, 0, 0, ""},
		{"-1/1m", true, 0, 0, 0, ""},
		{"+1/1m", true, 0, 0, 0, ""},
		{"1.5/1m", true, 0, 0, 0, ""},
		{"100/0m", true, 0, 0, 0, ""},
		{"100/1w", true, 0, 0, 0, ""},
		{"100/1M", true, 0, 0, 0, ""},
		{"100/1000000s", true, 0, 0, 0, ""},
		{"100/400d", true, 0, 0, 0, ""},
		{"100 /1m", true, 0, 0, 0, ""},
		{"100/1m;", true, 0, 0, 0, ""},
		{"100/1m;burst=", true, 0, 0, 0, ""},
		{"100/1m;burst=0", true, 0, 0, 0, ""},
		{"100/1m;Burst=5", true, 0, 0, 0, ""},
		{"100/1m;burst=5;burst=6", true, 0, 0, 0, ""},
		{"100/1m/1h", true, 0, 0, 0, ""},
		{"99999999999/1m", true, 0, 0, 0, ""},
		{"2000000000/1d", true, 0, 0, 0, ""},
		{"100/1m\n", true, 0, 0, 0, ""},
		{"100/1m\x00", true, 0, 0, 0, ""},
		{"１００/1m", true, 0, 0, 0, ""},
		{strings.Repeat(" ", 100) + "1/1m", true, 0, 0, 0, ""},
		{"1/1m" + strings.Repeat("0", 100), true, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePolicy("n", tt.in)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidPolicy)
				if len(strings.TrimSpace(tt.in)) > 4 {
					assert.NotContains(t, err.Error(), strings.TrimSpace(tt.in), "the text is never echoed")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantLimit, p.Limit())
			assert.Equal(t, tt.wantWindow, p.Window())
			assert.Equal(t, tt.wantBurst, p.Burst())
			assert.Equal(t, tt.wantString, p.String())
			q, err := ParsePolicy("n", p.String())
			require.NoError(t, err)
			assert.Equal(t, p.String(), q.String(), "String round-trips")
		})
	}
	_, err := ParsePolicy("bad name", "1/1m")
	assert.ErrorIs(t, err, ErrInvalidPolicy)
}

// FuzzParsePolicy checks that ParsePolicy never panics, that what it
// accepts is a valid policy within the bounds, and that String gives text
// that parses to the same policy.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{"100/1m", "5/15m;burst=3", "1/d", " 7/30s ", "0/1m", "1/0s", "1/1m;burst=x", "999999999/1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy("f", s)
		if err != nil {
			if p != nil {
				t.Fatal("a policy with an error")
			}
			if !strings.HasPrefix(err.Error(), "ratelimit: invalid policy") {
				t.Fatalf("error %q does not wrap ErrInvalidPolicy's text", err)
			}
			return
		}
		if p.Limit() < 1 || p.Limit() > MaxLimit || p.Burst() < 1 || p.Burst() > MaxLimit ||
			p.Window() < time.Second || p.Window() > MaxWindow || p.Interval() < MinInterval {
			t.Fatalf("out of bounds: %+v", p)
		}
		q, err := ParsePolicy("f", p.String())
		if err != nil || q.String() != p.String() || q.Interval() != p.Interval() {
			t.Fatalf("%q -> %q does not round-trip: %v", s, p.String(), err)
		}
	})
}
