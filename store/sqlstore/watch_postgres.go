package sqlstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-go/gatehouse/store"
)

// WatcherApplicationName is the application_name of a PostgreSQL
// watcher's connection, as pg_stat_activity shows it.
const WatcherApplicationName = "gatehouse-watch"

// listener is a PostgreSQL watcher: one pgx connection of its own that
// LISTENs on Channel. Notifications are delivered by the connection's
// OnNotification hook as they are read, whatever the read (a wait or a
// heartbeat), so that once a heartbeat's answer is in, every notification
// sent before it has been handled.
type listener struct {
	conf *pgx.ConnConfig
	f    *feedState
	conn *pgx.Conn
}

func (s *Store) newListener(ctx context.Context, f *feedState) (*listener, error) {
	conf, err := s.listenConfig(ctx)
	if err != nil {
		return nil, err
	}
	if conf.RuntimeParams == nil {
		conf.RuntimeParams = map[string]string{}
	}
	conf.RuntimeParams["application_name"] = WatcherApplicationName
	l := &listener{conf: conf, f: f}
	conf.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) { l.deliver(n.Payload) }
	if err := l.connect(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: watch: %w", err)
	}
	return l, nil
}

// listenConfig returns the configuration of the watcher's connection: the
// one Open parsed, or the one of a connection of the caller's *sql.DB.
func (s *Store) listenConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	if s.pgConf != nil {
		return s.pgConf.Copy(), nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: watch: %w", err)
	}
	defer c.Close()
	var conf *pgx.ConnConfig
	err = c.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("sqlstore: watch: the PostgreSQL feed needs a *sql.DB opened with github.com/jackc/pgx/v5/stdlib")
		}
		conf = pc.Conn().Config().Copy()
		return nil
	})
	return conf, err
}

// connect opens the connection and LISTENs, within the feed's Timeout.
func (l *listener) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.f.cfg.Timeout)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, l.conf)
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		closeConn(c)
		return err
	}
	l.conn = c
	return nil
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// run delivers notifications until ctx is done, reconnecting whenever the
// connection fails.
func (l *listener) run(ctx context.Context) {
	defer func() {
		if l.conn != nil {
			closeConn(l.conn)
		}
	}()
	for {
		err := l.listen(ctx)
		closeConn(l.conn)
		l.conn = nil
		if ctx.Err() != nil {
			return
		}
		l.f.down(fmt.Errorf("sqlstore: watch: connection lost: %w", err))
		began, ok := l.reconnect(ctx)
		if !ok {
			return
		}
		// Whatever changed while the connection was down went unheard.
		l.f.inv.InvalidateAll()
		l.f.up(began)
	}
}

// reconnect connects again, waiting longer after every failure (up to
// MaxBackoff), and returns a time before the connection was made; ok is
// false when ctx ended first.
func (l *listener) reconnect(ctx context.Context) (began time.Time, ok bool) {
	backoff := l.f.cfg.MinBackoff
	for {
		if !sleep(ctx, jitter(backoff)) {
			return time.Time{}, false
		}
		began = l.f.cfg.Now()
		err := l.connect(ctx)
		if err == nil {
			return began, true
		}
		if ctx.Err() != nil {
			return time.Time{}, false
		}
		l.f.cfg.OnError(fmt.Errorf("sqlstore: watch: reconnect: %w", err))
		backoff = min(2*backoff, l.f.cfg.MaxBackoff)
	}
}

// listen waits for notifications (delivered by the OnNotification hook)
// and sends a heartbeat every HealthInterval, busy or idle. Each answered
// heartbeat is passed to the caches with the time it was sent. It returns
// when ctx is done, the connection fails, or a heartbeat goes unanswered
// for Timeout.
func (l *listener) listen(ctx context.Context) error {
	cfg := l.f.cfg
	for {
		sent := cfg.Now()
		hctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		err := l.conn.Ping(hctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("heartbeat: %w", err)
		}
		l.f.alive(sent)
		wctx, cancel := context.WithTimeout(ctx, cfg.HealthInterval)
		for err == nil {
			// Returns after each notification; a timeout ends the wait.
			err = l.conn.PgConn().WaitForNotification(wctx)
		}
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
			// Time for the next heartbeat.
		default:
			return err
		}
	}
}

func (l *listener) deliver(payload string) {
	var d store.Digest
	if len(payload) != hex.EncodedLen(len(d)) {
		l.f.inv.InvalidateAll()
		return
	}
	if _, err := hex.Decode(d[:], []byte(payload)); err != nil {
		l.f.inv.InvalidateAll()
		return
	}
	l.f.inv.Invalidate(d)
}
