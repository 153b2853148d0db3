package outbox

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before attempt n+1 after n failed attempts:
// base doubled n-1 times, capped at max, with full jitter over its upper
// half (so that endpoints recovering from an outage are not hit by every
// retry at once). jitter returns a number in [0, 1).
func backoff(n int, base, max time.Duration, jitter func() float64) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + time.Duration(jitter()*float64(d-half))
}

func defaultJitter() float64 { return rand.Float64() }
