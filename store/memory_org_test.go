package store_test

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

func TestMemoryOrgConformance(t *testing.T) {
	t.Run("OrgStore", func(t *testing.T) {
		storetest.RunOrgStore(t, func(t *testing.T) store.OrgStore { return store.NewMemory() })
	})
	t.Run("SignInTokenStore", func(t *testing.T) {
		storetest.RunSignInTokenStore(t, func(t *testing.T) store.SignInTokenStore { return store.NewMemory() })
	})
}
