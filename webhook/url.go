package webhook

import (
	"errors"
	"net/url"

	"github.com/gatehouse-go/gatehouse/internal/loopback"
)

// ErrURL means an endpoint URL is not https (or http on a loopback host),
// has no host, or carries user information.
var ErrURL = errors.New("webhook: endpoint URL must be https (http only on loopback), with a host and no user info")

// CheckURL accepts an endpoint URL: https with a host, or plain http to a
// loopback host (localhost, 127.0.0.0/8, ::1) for development and tests.
// User information in the URL is refused (it would be logged and shown);
// a URL at most 2048 bytes long.
func CheckURL(raw string) error {
	if len(raw) > 2048 {
		return ErrURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return ErrURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopback.Host(u.Hostname()) {
			return nil
		}
	}
	return ErrURL
}
