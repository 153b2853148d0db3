package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
)

// FuzzUsersAndOrgsBodies sends arbitrary bodies to the users and
// organizations APIs as an org admin: it never panics, every refusal is a
// problem+json whose status matches and is never a 5xx, a user is only
// ever created in the admin's own organization at a level no higher than
// theirs, and a policy is only ever stored within the limits.
func FuzzUsersAndOrgsBodies(f *testing.F) {
	seeds := []struct {
		op   uint8
		body string
	}{
		{0, `{"email":"a@example.com","name":"A","level":"member","scopes":["read"],"password":"long enough"}`},
		{0, `{"email":"b@example.com","level":"super_admin"}`},
		{0, `{"email":"c@example.com","tenant_id":"t2"}`},
		{0, `{"email":"d@example.com","scopes":"read"}`},
		{0, `{"email":"\u0000@x","name":"\u0007"}`},
		{0, `{"email":"e@example.com","password_hash":"x"}`},
		{1, `{"name":"renamed","level":"org_admin"}`},
		{1, `{"level":"super_admin"}`},
		{1, `{"scopes":null}`},
		{1, `{"scopes":["admin","billing"]}`},
		{2, `{"id":"t3","name":"Three"}`},
		{3, `{"name":"Renamed"}`},
		{3, `{"name":""}`},
		{4, `{"require_expiry":true,"max_lifetime_days":30,"default_lifetime_days":7}`},
		{4, `{"max_lifetime_days":401}`},
		{4, `{"max_lifetime_days":-1,"default_lifetime_days":1e10}`},
		{4, `{"max_lifetime_days":9223372036854775807}`},
		{4, ``},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.body))
	}
	e := newEnv(f, envConfig{})
	ctx := context.Background()
	for _, id := range []string{"t1", "t2"} {
		if err := e.mem.CreateOrg(ctx, &store.Org{ID: id, Name: id}); err != nil {
			f.Fatal(err)
		}
	}
	h := e.srv.Config.Handler
	key := e.boot[olga]
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		method, path := http.MethodPost, usersPath
		switch op % 5 {
		case 1:
			method, path = http.MethodPatch, usersPath+"/"+bob
		case 2:
			path = orgsPath
		case 3:
			method, path = http.MethodPatch, orgsPath+"/t1"
		case 4:
			method, path = http.MethodPut, orgsPath+"/t1/policy"
		}
		rec := serveFuzz(h, method, path, key, body)

		if rec.Code >= 400 {
			checkFuzzRefusal(t, rec)
			return
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
			t.Fatalf("unexpected status %d", rec.Code)
		}
		users, _, err := e.mem.ListUsers(ctx, store.UserFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.ID == sam {
				continue
			}
			if u.Level == store.LevelSuperAdmin {
				t.Fatalf("an org admin made %s a super admin", u.ID)
			}
			if u.TenantID != "t1" && u.TenantID != "t2" || u.TenantID == "t2" && u.ID != carol && u.ID != otto {
				t.Fatalf("an org admin of t1 placed %s in %q", u.ID, u.TenantID)
			}
		}
		o, err := e.mem.OrgByID(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if p := o.Policy; p != nil && (p.MaxLifetimeDays < 0 || p.MaxLifetimeDays > 400 || p.DefaultLifetimeDays < 0 ||
			p.MaxLifetimeDays > 0 && p.DefaultLifetimeDays > p.MaxLifetimeDays) {
			t.Fatalf("a policy out of bounds was stored: %+v", *p)
		}
	})
}
