package ratelimit

import "time"

// decide applies the generic cell rate algorithm for p to a bucket whose
// theoretical arrival time is tat, at now; both are nanoseconds on the
// limiter's clock, and a bucket without state has tat == now. It returns
// the new theoretical arrival time (tat itself when nothing is spent) and
// the decision. cost must be at most p.burst.
//
// The bucket is full when tat <= now and empty when tat - now == tau; a
// cost c is allowed when tat + c*interval - tau <= now.
func (p *Policy) decide(tat, now int64, cost int) (int64, Decision) {
	if tat < now {
		tat = now
	}
	d := Decision{Policy: p, Limit: p.limit}
	switch {
	case cost == 0: // peek: would a cost of 1 pass?
		d.Remaining = p.available(tat, now)
		d.Reset = time.Duration(tat - now)
		if allowAt := tat + p.interval - p.tau; now < allowAt {
			d.RetryAfter = time.Duration(allowAt - now)
		} else {
			d.Allowed = true
		}
		return tat, d
	case cost < 0: // refund
		cost = max(cost, -p.burst)
		newTat := max(now, tat+int64(cost)*p.interval)
		d.Allowed = true
		d.Remaining = p.available(newTat, now)
		d.Reset = time.Duration(newTat - now)
		return newTat, d
	}
	newTat := tat + int64(cost)*p.interval
	if allowAt := newTat - p.tau; now < allowAt {
		d.Remaining = p.available(tat, now)
		d.Reset = time.Duration(tat - now)
		d.RetryAfter = time.Duration(allowAt - now)
		return tat, d
	}
	d.Allowed = true
	d.Remaining = p.available(newTat, now)
	d.Reset = time.Duration(newTat - now)
	return newTat, d
}

// available is how many whole units a bucket at tat holds at now. It is
// never negative, even when the bucket was filled under a deeper policy of
// the same name.
func (p *Policy) available(tat, now int64) int {
	free := p.tau - (tat - now)
	if free <= 0 {
		return 0
	}
	return int(free / p.interval)
}
