package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// maxPollBatch is the most change-log rows one poll reads; a larger
// backlog is cheaper to answer with InvalidateAll.
const maxPollBatch = 1000

// poller is a SQLite watcher: it reads the change log that every Store on
// the file appends to.
type poller struct {
	s    *Store
	f    *feedState
	inv  Invalidator
	cfg  WatchConfig
	last int64 // the highest seq handled

	lastPrune time.Time
}

func (s *Store) newPoller(ctx context.Context, f *feedState) (*poller, error) {
	p := &poller{s: s, f: f, inv: f.inv, cfg: f.cfg}
	hw, err := p.highWater(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: watch: %w", err)
	}
	p.last = hw
	return p, nil
}

func (p *poller) run(ctx context.Context) {
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Every change logged before a poll begins is read by it.
			began := p.cfg.Now()
			pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			err := p.poll(pctx)
			cancel()
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				p.f.down(fmt.Errorf("sqlstore: watch: %w", err))
			default:
				p.f.up(began)
			}
		}
	}
}

// highWater returns the highest seq ever given to a change-log row. SQLite
// keeps it in sqlite_sequence, which pruning does not lower.
func (p *poller) highWater(ctx context.Context) (int64, error) {
	var hw int64
	err := p.s.db.QueryRowContext(ctx, `SELECT COALESCE(
		(SELECT seq FROM sqlite_sequence WHERE name = 'gatehouse_key_changes'), 0)`).Scan(&hw)
	return hw, err
}

// poll hands the digests of the changes logged since the last poll to the
// invalidator. Rows are committed in seq order by SQLite's single writer,
// so every seq up to the high-water mark read first is either in the log
// or was pruned; fewer rows than seqs means some were pruned unread, and
// then everything is dropped.
func (p *poller) poll(ctx context.Context) error {
	hw, err := p.highWater(ctx)
	if err != nil {
		return err
	}
	switch {
	case hw == p.last:
		return p.maybePrune(ctx)
	case hw < p.last, hw-p.last > maxPollBatch:
		// The file was replaced, or the backlog is large.
		p.inv.InvalidateAll()
		p.last = hw
		return p.maybePrune(ctx)
	}
	rows, err := p.s.db.QueryContext(ctx,
		`SELECT digest FROM gatehouse_key_changes WHERE seq > $1 AND seq <= $2 ORDER BY seq`, p.last, hw)
	if err != nil {
		return err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var d store.Digest
		if err := rows.Scan(digestCol{&d}); err != nil {
			return err
		}
		p.inv.Invalidate(d)
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != hw-p.last {
		p.inv.InvalidateAll()
	}
	p.last = hw
	return p.maybePrune(ctx)
}

// maybePrune deletes change-log rows older than Retention, at most every
// quarter of Retention (and at most every minute).
func (p *poller) maybePrune(ctx context.Context) error {
	now := p.s.now()
	every := min(p.cfg.Retention/4, time.Minute)
	if !p.lastPrune.IsZero() && now.Sub(p.lastPrune) < every {
		return nil
	}
	p.lastPrune = now
	_, err := p.s.db.ExecContext(ctx, `DELETE FROM gatehouse_key_changes WHERE changed_at < $1`,
		p.s.timeArg(now.Add(-p.cfg.Retention)))
	return err
}
