package sqlstore

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			storetest.RunKeyStore(t, func(t *testing.T) store.KeyStore { return open(t, d.fresh(t)) })
			storetest.RunUserStore(t, func(t *testing.T) store.UserStore { return open(t, d.fresh(t)) })
			storetest.RunReminderStore(t, func(t *testing.T) storetest.LifecycleStore { return open(t, d.fresh(t)) })
			storetest.RunSessionStore(t, func(t *testing.T) store.SessionStore { return open(t, d.fresh(t)) })
			storetest.RunSigningKeyStore(t, func(t *testing.T) store.SigningKeyStore { return open(t, d.fresh(t)) })
		})
	}
}
