package apikey

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// Params describes a key to issue.
type Params struct {
	// ID, when set, is the record's ID instead of a random one, for a key
	// that must exist at most once (a bootstrap key that several processes
	// may try to create together): a record with that ID already there is
	// [store.ErrConflict], returned as it is.
	ID          string
	Name        string
	Description string
	OwnerID     string
	TenantID    string
	// Scopes are the key's scopes; leave empty and set Role to take the
	// role's scopes at verification time.
	Scopes    []string
	Role      string
	ExpiresAt time.Time // zero: never
	CreatedBy string
	Metadata  map[string]string
	// AllowedNetworks, when not empty, are the only networks the key may
	// be used from (masked and deduplicated when stored).
	AllowedNetworks []netip.Prefix
	// Credits, when set, is the key's allowance of uses; its Since
	// defaults to Now.
	Credits *gatehouse.Credits
	// Now is the creation time. Default time.Now().
	Now time.Time
}

// Issue generates a key of format f, stores its record (digest by h, last 4,
// never the key) in keys, and returns the key, to be shown once, with the
// stored record.
func Issue(ctx context.Context, keys store.KeyStore, f Format, h *store.Hasher, p Params) (string, *store.Key, error) {
	if p.Name == "" {
		return "", nil, errors.New("apikey: a key needs a name")
	}
	if err := scopes.Validate(p.Scopes); err != nil {
		return "", nil, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now) {
		return "", nil, errors.New("apikey: expiry must be in the future")
	}
	nets, ok := store.NormalizeNetworks(p.AllowedNetworks)
	if !ok {
		return "", nil, errors.New("apikey: an allowed network is not a valid prefix")
	}
	var credits *gatehouse.Credits
	if p.Credits != nil {
		c := *p.Credits
		if err := c.Validate(); err != nil {
			return "", nil, err
		}
		if c.Since.IsZero() {
			c.Since = now.UTC()
		}
		credits = &c
	}
	for attempt := 0; ; attempt++ {
		key, err := f.Generate()
		if err != nil {
			return "", nil, err
		}
		id := p.ID
		if id == "" {
			id = store.NewID("key")
		}
		rec := &store.Key{
			ID:          id,
			Digest:      h.Sum(key),
			Prefix:      f.prefix,
			Last4:       Last4(key),
			Name:        p.Name,
			Description: p.Description,
			OwnerID:     p.OwnerID,
			TenantID:    p.TenantID,
			Scopes:      scopes.Normalize(p.Scopes),
			Role:        p.Role,
			CreatedBy:   p.CreatedBy,
			CreatedAt:   now.UTC(),
			Metadata:    p.Metadata,

			AllowedNetworks: nets,
			Credits:         credits,
		}
		if !p.ExpiresAt.IsZero() {
			rec.ExpiresAt = p.ExpiresAt.UTC()
		}
		err = keys.CreateKey(ctx, rec)
		if errors.Is(err, store.ErrConflict) && attempt < 2 && p.ID == "" {
			continue // an ID or digest collision: draw again
		}
		if err != nil {
			return "", nil, err
		}
		return key, rec.Clone(), nil
	}
}
