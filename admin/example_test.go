package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

func ExamplePolicy_EndOfDay() {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		fmt.Println(err)
		return
	}
	// 23:30 on 28 February in New York, already 1 March in UTC.
	created := time.Date(2026, 3, 1, 4, 30, 0, 0, time.UTC)

	p := admin.Policy{Location: ny}
	fmt.Println(p.EndOfDay(created, 1).UTC())  // the end of 1 March, New York time
	fmt.Println(p.EndOfDay(created, 30).UTC()) // daylight saving time began on 8 March
	fmt.Println(admin.Policy{}.EndOfDay(created, 1))
	// Output:
	// 2026-03-02 05:00:00 +0000 UTC
	// 2026-03-31 04:00:00 +0000 UTC
	// 2026-03-03 00:00:00 +0000 UTC
}

func ExampleManager_Create() {
	ctx := context.Background()
	db := store.NewMemory()
	_ = db.CreateUser(ctx, &store.User{ID: "u1", TenantID: "acme", Level: store.LevelMember})
	keys, _ := store.NewKeyCache(db, store.CacheConfig{})
	mgr, err := admin.NewManager(keys, db, apikey.MustFormat("cpx_live."), admin.Config{
		Policy: admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90},
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The principal the middleware put in the request context.
	p := &gatehouse.Principal{ID: "u1", TenantID: "acme", Scopes: []string{"read", "write"}}

	c, err := mgr.Create(ctx, p, admin.CreateRequest{Name: "ci", Scopes: []string{"read"}, Expiry: admin.Expiry{InDays: true, Days: 30}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(c.Key, "cpx_live."), strings.HasSuffix(c.Key, c.Record.Last4))
	fmt.Println(c.Record.ExpiresAt)

	_, err = mgr.Create(ctx, p, admin.CreateRequest{Name: "forever", Scopes: []string{"read"}})
	var v *admin.ValidationError
	if errors.As(err, &v) {
		fmt.Println("expires_at:", v.Fields["expires_at"])
	}

	_, err = mgr.Create(ctx, p, admin.CreateRequest{Name: "root", Scopes: []string{"admin"}, Expiry: admin.Expiry{InDays: true, Days: 1}})
	fmt.Println(errors.Is(err, admin.ErrForbidden))
	// Output:
	// true true
	// 2026-04-01 00:00:00 +0000 UTC
	// expires_at: an expiry is required by the key policy: give expires_at or expires_in_days
	// true
}

func ExampleManager_SetOrgPolicy() {
	ctx := context.Background()
	db := store.NewMemory()
	_ = db.CreateUser(ctx, &store.User{ID: "root", TenantID: "hq", Level: store.LevelSuperAdmin})
	mgr, err := admin.NewManager(db, db, apikey.MustFormat("cpx_live."), admin.Config{
		Policy: admin.Policy{DefaultLifetimeDays: 365}, // for organizations without their own
		Orgs:   db,
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	root := &gatehouse.Principal{ID: "root", TenantID: "hq", Scopes: []string{"admin", "read"}}
	if _, err := mgr.CreateOrg(ctx, root, admin.NewOrg{ID: "acme", Name: "Acme Inc"}); err != nil {
		fmt.Println(err)
		return
	}
	_, err = mgr.SetOrgPolicy(ctx, root, "acme", &admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90, DefaultLifetimeDays: 30})
	fmt.Println(err)
	_, err = mgr.SetOrgPolicy(ctx, root, "acme", &admin.Policy{MaxLifetimeDays: 500})
	var v *admin.ValidationError
	if errors.As(err, &v) {
		fmt.Println("max_lifetime_days:", v.Fields["max_lifetime_days"])
	}
	for _, org := range []string{"acme", "globex"} {
		p, _ := mgr.PolicyFor(ctx, org)
		fmt.Println(org, p.MaxLifetimeDays, p.DefaultLifetimeDays)
	}
	// Output:
	// <nil>
	// max_lifetime_days: must be 0 (no cap) to 400
	// acme 90 30
	// globex 0 365
}
