package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/webhook/outbox"
)

const webhooksUsage = `Usage: gatehouse webhooks <subcommand> [flags]

Subcommands:
  add         add an endpoint; prints its signing secret (whsec_...) once on stdout
  list        list endpoints (never their secrets)
  remove      remove an endpoint and its pending deliveries
  enable      enable an endpoint that was disabled after failing (same secret)
  deliveries  show an endpoint's latest deliveries, newest first

gatehouse serve delivers: key.created, key.updated, key.rotated, key.revoked,
key.expiring and key.leaked, signed by the Standard Webhooks scheme.
Run gatehouse webhooks <subcommand> --help for its flags.
`

func webhooks(ctx context.Context, args []string, e env) error {
	return group(ctx, args, e, "webhooks", webhooksUsage, map[string]func(context.Context, []string, env) error{
		"add":        webhooksAdd,
		"list":       webhooksList,
		"remove":     webhooksRemove,
		"enable":     webhooksEnable,
		"deliveries": webhooksDeliveries,
	})
}

// eventSink returns the outbox every key event of this process goes to:
// running servers deliver it.
func (a *app) eventSink() *outbox.Sink {
	a.sinkOnce.Do(func() {
		a.sink, _ = outbox.NewSink(a.db, outbox.SinkConfig{}) // fails only for a nil store
	})
	return a.sink
}

// openWebhooks opens the app and its webhook endpoints.
func openWebhooks(ctx context.Context, d *dbFlags, e env) (*app, *admin.Webhooks, error) {
	a, err := openApp(ctx, *d, e)
	if err != nil {
		return nil, nil, err
	}
	w, err := admin.NewWebhooks(a.db, admin.WebhookConfig{})
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, w, nil
}

// oneWebhook parses flags that end with one webhook ID and opens the app
// and its webhook endpoints.
func oneWebhook(ctx context.Context, fs *flag.FlagSet, d *dbFlags, args []string, e env) (*app, *admin.Webhooks, string, error) {
	if err := parseFlags(fs, args, "webhook ID"); err != nil {
		return nil, nil, "", err
	}
	a, w, err := openWebhooks(ctx, d, e)
	return a, w, fs.Arg(0), err
}

// noWebhook words admin.ErrNotFound for the webhook id.
func noWebhook(err error, id string) error {
	if errors.Is(err, admin.ErrNotFound) {
		return fmt.Errorf("no webhook with ID %q", id)
	}
	return err
}

func webhooksAdd(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "webhooks add", "webhooks add --url https://... [--events key.revoked,key.leaked]")
	url := fs.String("url", "", "the endpoint: https, or http to localhost only (required)")
	events := fs.String("events", "", "comma-separated event types it receives (default: all of "+strings.Join(admin.EventTypes, ", ")+")")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if *url == "" {
		return fmt.Errorf("%w: webhooks add needs --url", errUsage)
	}
	var evs []string
	for _, s := range strings.Split(*events, ",") {
		if s = strings.TrimSpace(s); s != "" {
			evs = append(evs, s)
		}
	}
	a, w, err := openWebhooks(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	ep, secret, err := w.Add(ctx, "cli", *url, evs)
	var v *admin.ValidationError
	if errors.As(err, &v) {
		return fmt.Errorf("%w: %v", errUsage, v)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secret)
	which := "all events"
	if len(ep.Events) > 0 {
		which = strings.Join(ep.Events, ",")
	}
	fmt.Fprintf(e.stderr, "added webhook %s for %s (%s)\nthe signing secret is shown once: store it now; receivers verify with it\n", ep.ID, ep.URL, which)
	return nil
}

func webhooksList(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "webhooks list", "webhooks list")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	a, w, err := openWebhooks(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	es, err := w.List(ctx)
	if err != nil {
		return err
	}
	tw := newTable(e.stdout, "ID\tURL\tEVENTS\tSTATUS\tFAILURES\tCREATED")
	for _, ep := range es {
		j := admin.WebhookToJSON(ep)
		status := j.Status
		if j.DisabledReason != "" {
			status += " (" + j.DisabledReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ep.ID, ep.URL, dash(strings.Join(ep.Events, ",")), status, ep.Failures, formatTime(ep.CreatedAt, "-"))
	}
	return tw.Flush()
}

func webhooksRemove(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "webhooks remove", "webhooks remove ID")
	a, w, id, err := oneWebhook(ctx, fs, d, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := w.Remove(ctx, "cli", id); err != nil {
		return noWebhook(err, id)
	}
	fmt.Fprintf(e.stderr, "removed webhook %s\n", id)
	return nil
}

func webhooksEnable(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "webhooks enable", "webhooks enable ID")
	a, w, id, err := oneWebhook(ctx, fs, d, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	_, enabled, err := w.Enable(ctx, "cli", id)
	if err != nil {
		return noWebhook(err, id)
	}
	if !enabled {
		fmt.Fprintf(e.stderr, "webhook %s was not disabled: nothing changed\n", id)
		return nil
	}
	fmt.Fprintf(e.stderr, "enabled webhook %s: its pending deliveries are sent when due\n", id)
	return nil
}

func webhooksDeliveries(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "webhooks deliveries", "webhooks deliveries [--limit 20] ID")
	limit := fs.Int("limit", 20, "how many, newest first (1 to 1000)")
	if err := parseFlags(fs, args, "webhook ID"); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: --limit must be 1 to 1000", errUsage)
	}
	id := fs.Arg(0)
	a, w, err := openWebhooks(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	ds, _, err := w.Deliveries(ctx, id, "", *limit)
	if err != nil {
		return noWebhook(err, id)
	}
	tw := newTable(e.stdout, "ID\tWEBHOOK-ID\tEVENT\tSTATUS\tATTEMPTS\tLAST RESULT\tLAST ATTEMPT\tNEXT ATTEMPT")
	for _, x := range ds {
		last := "-"
		switch {
		case x.LastError != "":
			last = x.LastError
		case x.LastStatus != 0:
			last = strconv.Itoa(x.LastStatus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", x.ID, x.EventID, x.EventType, x.Status(), x.Attempts, last,
			formatTime(x.LastAttemptAt, "-"), formatTime(x.NextAt, "-"))
	}
	return tw.Flush()
}

// emit puts a key event of the CLI into the outbox, for running servers
// to deliver. A failure is a warning: the change itself was made.
func (a *app) emit(ctx context.Context, e env, typ string, k *store.Key) {
	err := a.eventSink().Emit(ctx, admin.Event{Type: typ, Key: k, ActorID: "cli", At: time.Now()})
	if err != nil {
		fmt.Fprintf(e.stderr, "warning: the %s event for key %s was not queued for webhooks: %v\n", typ, k.ID, err)
	}
}
