package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
)

type eventLog struct {
	mu     sync.Mutex
	events []admin.Event
	fail   bool
}

func (l *eventLog) Emit(_ context.Context, e admin.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if l.fail {
		return errors.New("sink down")
	}
	return nil
}

// TestEvents checks that each change through the API reaches the sink once,
// after it is stored, with the actor and the record and never the key.
func TestEvents(t *testing.T) {
	sink := &eventLog{}
	e := newEnv(t, envConfig{events: sink})
	created := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[alice], map[string]any{"name": "ev", "scopes": []string{"read"}}), http.StatusCreated)
	id := created["api_key"].(map[string]any)["id"].(string)
	key := created["key"].(string)
	requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[alice], map[string]any{"name": "ev2"}), http.StatusOK)
	rotated := requireStatus(t, e.do(t, http.MethodPost, apiPath+"/"+id+"/rotate", e.boot[alice], map[string]any{"grace_seconds": 60}), http.StatusCreated)
	newID := rotated["api_key"].(map[string]any)["id"].(string)
	requireStatus(t, e.do(t, http.MethodDelete, apiPath+"/"+newID, e.boot[alice], nil), http.StatusOK)

	tests := []struct {
		typ, keyID, old string
	}{
		{admin.EventKeyCreated, id, ""},
		{admin.EventKeyUpdated, id, ""},
		{admin.EventKeyRotated, newID, id},
		{admin.EventKeyRevoked, newID, ""},
	}
	require.Len(t, sink.events, len(tests))
	for i, tt := range tests {
		got := sink.events[i]
		assert.Equal(t, tt.typ, got.Type, "event %d", i)
		assert.Equal(t, tt.keyID, got.Key.ID, "event %d", i)
		assert.Equal(t, tt.old, got.OldKeyID, "event %d", i)
		assert.Equal(t, alice, got.ActorID, "event %d", i)
		assert.True(t, t0.Equal(got.At), "event %d: the manager's clock", i)
		assert.False(t, strings.Contains(got.Key.Name+got.Key.Description, key))
	}
	assert.Equal(t, "ev2", sink.events[1].Key.Name, "the record after the change")
}

// TestEventSinkFailure: a failing sink is logged and does not undo or fail
// the change.
func TestEventSinkFailure(t *testing.T) {
	sink := &eventLog{fail: true}
	e := newEnv(t, envConfig{events: sink})
	requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[alice], map[string]any{"name": "ev", "scopes": []string{"read"}}), http.StatusCreated)
	assert.Len(t, sink.events, 1)
	assert.Contains(t, e.logs.String(), "gatehouse.event.failed")
}
