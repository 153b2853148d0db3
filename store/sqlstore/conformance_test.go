package sqlstore

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

var (
	_ store.KeyStore   = (*Store)(nil)
	_ store.UsageStore = (*Store)(nil)
)

func TestConformance(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			storetest.RunKeyStore(t, func(t *testing.T) store.KeyStore { return open(t, d.fresh(t)) })
		})
	}
}
