// Package httpget fetches small documents (key sets, discovery documents)
// with a timeout and a size cap, for the packages that trust what a
// configured URL publishes.
package httpget

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Capped GETs rawURL with client within timeout and returns a 200
// response's body, at most maxSize bytes: a larger one is an error. what
// prefixes the errors ("jwtauth: jwks").
func Capped(ctx context.Context, client *http.Client, rawURL, accept string, timeout time.Duration, maxSize int64, what string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: fetch: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: fetch: status %d", what, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", what, err)
	}
	if int64(len(body)) > maxSize {
		return nil, fmt.Errorf("%s: response larger than %d bytes", what, maxSize)
	}
	return body, nil
}
