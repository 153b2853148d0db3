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
// LISTENs on Channel.
type listener struct {
	conf *pgx.ConnConfig
	inv  Invalidator
	cfg  WatchConfig
	conn *pgx.Conn
}

func (s *Store) newListener(ctx context.Context, inv Invalidator, cfg WatchConfig) (*listener, error) {
	conf, err := s.listenConfig(ctx)
	if err != nil {
		return nil, err
	}
	if conf.RuntimeParams == nil {
		conf.RuntimeParams = map[string]string{}
	}
	conf.RuntimeParams["application_name"] = WatcherApplicationName
	l := &listener{conf: conf, inv: inv, cfg: cfg}
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

func (l *listener) connect(ctx context.Context) error {
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
		l.cfg.OnError(fmt.Errorf("sqlstore: watch: connection lost: %w", err))
		if !l.reconnect(ctx) {
			return
		}
		// Whatever changed while the connection was down went unheard.
		l.inv.InvalidateAll()
	}
}

// reconnect connects again, waiting longer after every failure, and
// reports false when ctx ended first.
func (l *listener) reconnect(ctx context.Context) bool {
	backoff := l.cfg.MinBackoff
	for {
		if !sleep(ctx, jitter(backoff)) {
			return false
		}
		err := l.connect(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		l.cfg.OnError(fmt.Errorf("sqlstore: watch: reconnect: %w", err))
		backoff = min(2*backoff, l.cfg.MaxBackoff)
	}
}

// listen waits for notifications and delivers them, pinging the
// connection when it has been silent for HealthInterval. It returns when
// ctx is done or the connection fails.
func (l *listener) listen(ctx context.Context) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, l.cfg.HealthInterval)
		n, err := l.conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.deliver(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err):
			pctx, cancel := context.WithTimeout(ctx, min(l.cfg.HealthInterval, 5*time.Second))
			err := l.conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

func (l *listener) deliver(payload string) {
	var d store.Digest
	if len(payload) != hex.EncodedLen(len(d)) {
		l.inv.InvalidateAll()
		return
	}
	if _, err := hex.Decode(d[:], []byte(payload)); err != nil {
		l.inv.InvalidateAll()
		return
	}
	l.inv.Invalidate(d)
}
