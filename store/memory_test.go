package store_test

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

var _ store.KeyStore = (*store.Memory)(nil)

func TestMemoryConformance(t *testing.T) {
	storetest.RunKeyStore(t, func(t *testing.T) store.KeyStore { return store.NewMemory() })
}

func TestMemoryLifecycleConformance(t *testing.T) {
	storetest.RunUserStore(t, func(t *testing.T) store.UserStore { return store.NewMemory() })
	storetest.RunReminderStore(t, func(t *testing.T) storetest.LifecycleStore { return store.NewMemory() })
	storetest.RunSessionStore(t, func(t *testing.T) store.SessionStore { return store.NewMemory() })
	storetest.RunSigningKeyStore(t, func(t *testing.T) store.SigningKeyStore { return store.NewMemorySigningKeys() })
}
