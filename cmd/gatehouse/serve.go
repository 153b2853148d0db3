package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

func serve(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "serve", "serve [--addr 127.0.0.1:8080] [--db gatehouse.db | --dsn postgres://...]")
	var d dbFlags
	d.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))

	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, err := store.NewKeyCache(a.db, store.CacheConfig{})
	if err != nil {
		return err
	}
	watcher, err := a.db.Watch(ctx, keys, sqlstore.WatchConfig{})
	if err != nil {
		return fmt.Errorf("invalidation feed: %w", err)
	}
	defer watcher.Close()

	usage, err := store.NewUsageRecorder(a.db)
	if err != nil {
		return err
	}
	reminders, err := admin.NewReminders(a.db, admin.ReminderConfig{Notifier: admin.LogNotifier{Log: log}})
	if err != nil {
		return err
	}
	h, err := newAPI(keys, usage, a, log)
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); usage.Run(bg, 10*time.Second, logErr(log, "last-used flush")) }()
	go func() { defer wg.Done(); reminders.Run(bg, logErr(log, "expiry reminders")) }()
	defer func() { stopBG(); wg.Wait() }()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	bound := ln.Addr().String()
	if err := bootstrap(ctx, a, keys, e, bound); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", "http://"+bound, "db", a.db.Dialect())
	if e.ready != nil {
		e.ready(bound)
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func logErr(log *slog.Logger, what string) func(error) {
	return func(err error) { log.Error(what+" failed", "err", err) }
}

// bootstrap, on a database with no key at all, creates the super admin
// user "admin" (if missing) and an admin key with every demo scope, and
// prints the key once with a curl line.
func bootstrap(ctx context.Context, a *app, keys store.KeyStore, e env, addr string) error {
	existing, _, err := a.db.ListKeys(ctx, store.KeyFilter{IncludeRevoked: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return nil
	}
	err = a.db.CreateUser(ctx, &store.User{ID: "admin", Email: "admin@localhost", Name: "bootstrap admin",
		Level: store.LevelSuperAdmin, CreatedAt: time.Now().UTC()})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	key, rec, err := apikey.Issue(ctx, keys, a.format, a.hasher, apikey.Params{
		Name: "bootstrap admin", Description: "created by gatehouse serve on an empty database",
		Scopes: demoScopes, OwnerID: "admin", CreatedBy: "gatehouse serve",
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `
An admin key was created (%s). It is shown once; store it now:

  KEY=%s
  curl -H "Authorization: Bearer $KEY" http://%s/api/projects

`, rec.ID, key, addr)
	return nil
}

// newAPI returns the demo API and the key management API behind the
// middleware.
func newAPI(keys *store.KeyCache, usage *store.UsageRecorder, a *app, log *slog.Logger) (http.Handler, error) {
	auth, err := apikey.NewAuthenticator(a.format, keys, apikey.Config{Hasher: a.hasher, Usage: usage})
	if err != nil {
		return nil, err
	}
	m, err := middleware.New(middleware.Config{Realm: "gatehouse", Observer: admin.NewAuditObserver(log, nil)}, auth)
	if err != nil {
		return nil, err
	}
	mgr, err := a.manager(keys)
	if err != nil {
		return nil, err
	}
	mgmt, err := admin.NewHandler(mgr, m, admin.HandlerConfig{})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/api-keys", mgmt)
	mux.Handle("/api/auth/api-keys/", mgmt)
	mux.Handle("/", newDemo(m))
	return mux, nil
}
