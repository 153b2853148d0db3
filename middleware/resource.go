package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-go/gatehouse/internal/loopback"
)

// ResourceMetadataPath is the well-known path of a protected resource's
// metadata (RFC 9728 section 3).
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata is an OAuth 2.0 protected resource metadata document
// (RFC 9728 section 2): what a client needs to learn how to get a token
// for this API. MCP clients, among others, read it.
type ResourceMetadata struct {
	// Resource is the resource identifier: an https URL (http on a
	// loopback host, for development) without a fragment or query.
	// Required.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers of the OAuth
	// authorization servers that issue tokens for this resource.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported are the scopes a request may need.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported are the ways a bearer token may be sent.
	// Default ["header"]: Gatehouse never reads a token from a form body
	// or the query string.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceName is a human-readable name. Optional.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of a page for developers. Optional.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
}

// NewResourceMetadata validates md and returns the URL its document is
// served at (the value for Config.ResourceMetadata), the path to mount the
// handler on, and the handler. The URL is formed as RFC 9728 section 3.1
// says: the well-known path is inserted between the resource's host and
// its path, so "https://api.example.com/v1" is described at
// "https://api.example.com/.well-known/oauth-protected-resource/v1". The
// handler answers GET and HEAD with the document (application/json,
// cacheable for an hour, readable cross-origin) and 405 otherwise; the
// body is built once.
func NewResourceMetadata(md ResourceMetadata) (metadataURL, path string, h http.Handler, err error) {
	u, err := resourceURL(md.Resource)
	if err != nil {
		return "", "", nil, err
	}
	for _, s := range md.AuthorizationServers {
		if _, err := resourceURL(s); err != nil {
			return "", "", nil, errors.New("middleware: resource metadata: an authorization server is not an https URL")
		}
	}
	if md.ResourceDocumentation != "" {
		if d, err := url.Parse(md.ResourceDocumentation); err != nil || d.Scheme == "" || d.Host == "" {
			return "", "", nil, errors.New("middleware: resource metadata: ResourceDocumentation is not an absolute URL")
		}
	}
	if len(md.BearerMethodsSupported) == 0 {
		md.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(md)
	if err != nil {
		return "", "", nil, err
	}
	path = ResourceMetadataPath + strings.TrimSuffix(u.EscapedPath(), "/")
	metadataURL = u.Scheme + "://" + u.Host + path
	if !safeHeaderText(metadataURL) {
		return "", "", nil, errors.New("middleware: resource metadata: the resource URL holds characters not allowed in a header")
	}
	length := strconv.Itoa(len(body))
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteProblem(w, Problem{Type: "about:blank", Title: http.StatusText(http.StatusMethodNotAllowed),
				Status: http.StatusMethodNotAllowed, Detail: "Use GET to read the resource metadata", Code: "method_not_allowed"})
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", "application/json")
		hd.Set("Content-Length", length)
		hd.Set("Cache-Control", "public, max-age=3600")
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
	return metadataURL, path, h, nil
}

// resourceURL checks an identifier URL: https (or http on a loopback
// host), a host, no fragment, no query, no user info.
func resourceURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return nil, errors.New("middleware: resource metadata: the resource is not an absolute URL")
	case u.Fragment != "" || u.RawQuery != "" || u.ForceQuery || u.User != nil:
		return nil, errors.New("middleware: resource metadata: the resource has a fragment, a query or user info")
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && loopback.Host(u.Hostname()):
		return u, nil
	}
	return nil, errors.New("middleware: resource metadata: the resource must be https (http only on a loopback host)")
}
