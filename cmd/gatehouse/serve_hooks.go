package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/webhook"
	"github.com/gatehouse-go/gatehouse/webhook/outbox"
)

// leakOptions are serve's leaked-key flags: the URL of the reporter's
// signing keys ("" : the endpoint is off) and what to do with a reported
// key.
type leakOptions struct {
	keysURL, action string
}

// check validates --leaked-keys-url and --leaked-keys-action.
func (o leakOptions) check() error {
	if o.action != admin.LeakRevoke && o.action != admin.LeakFlag {
		return fmt.Errorf("%w: --leaked-keys-action must be revoke or flag", errUsage)
	}
	if o.keysURL != "" && webhook.CheckURL(o.keysURL) != nil {
		return fmt.Errorf("%w: --leaked-keys-url must be an https URL (http only on loopback)", errUsage)
	}
	return nil
}

// mountHooks adds the webhooks API and, when configured, the leaked-key
// endpoint to mux.
func mountHooks(mux *http.ServeMux, a *app, mgr *admin.Manager, m *middleware.Middleware, log *slog.Logger, opts apiOptions) error {
	w, err := admin.NewWebhooks(a.db, admin.WebhookConfig{Logger: log})
	if err != nil {
		return err
	}
	hooks, err := admin.NewWebhookHandler(w, mgr, m, admin.HandlerConfig{StoreTimeout: opts.storeTimeout})
	if err != nil {
		return err
	}
	mux.Handle("/api/auth/webhooks", hooks)
	mux.Handle("/api/auth/webhooks/", hooks)
	if opts.leak.keysURL == "" {
		return nil
	}
	leaked, err := admin.NewLeakedKeys(mgr, admin.LeakConfig{KeysURL: opts.leak.keysURL, Action: opts.leak.action})
	if err != nil {
		return err
	}
	mux.Handle("/api/auth/leaked-keys", middleware.Timeout(opts.storeTimeout)(leaked))
	return nil
}

// startDispatcher delivers the outbox until ctx ends; the returned
// function stops it and waits.
func startDispatcher(ctx context.Context, a *app, log *slog.Logger) (func(), error) {
	d, err := outbox.NewDispatcher(a.db, outbox.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	a.eventSink().OnEnqueue(d.Wake)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	return func() { d.Close(); <-done }, nil
}

// describe says where the leaked-key endpoint is, for the startup log.
func (o leakOptions) describe(addr string) string {
	if o.keysURL == "" {
		return "off (no --leaked-keys-url)"
	}
	return "http://" + addr + "/api/auth/leaked-keys, action " + o.action
}
