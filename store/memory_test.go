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
