package sqlstore

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

func TestOrgConformance(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Run("OrgStore", func(t *testing.T) {
				storetest.RunOrgStore(t, func(t *testing.T) store.OrgStore { return open(t, d.fresh(t)) })
			})
			t.Run("SignInTokenStore", func(t *testing.T) {
				storetest.RunSignInTokenStore(t, func(t *testing.T) store.SignInTokenStore { return open(t, d.fresh(t)) })
			})
		})
	}
}
