// Package httpx is the one HTTP transport for everything Faultline sends to a
// cluster: the load (vegeta's attacker), health checks, leader lookups and
// final reads. Faultline often runs as root, and its requests must go to the
// nodes and nowhere else:
//   - no proxy: HTTP_PROXY and friends are ignored (a proxy would see, and
//     answer for, every request to the nodes);
//   - no redirects: a node cannot send root's requests elsewhere; the 3xx
//     answer is what the caller sees;
//   - no userinfo: "http://node@elsewhere/" is refused;
//   - each request's URL is checked against the node it is meant for
//     (CheckURL), on every request, and the transport refuses hosts that are
//     not nodes when it is told which are (WithAllow).
package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrRefused is wrapped by every refusal of this package.
var ErrRefused = errors.New("refused")

// Option configures a Transport.
type Option func(*Transport)

// WithAllow makes the transport refuse every request whose host:port allow
// does not accept (the cluster's nodes; asked per request, since endpoints
// may change when a node restarts).
func WithAllow(allow func(hostport string) bool) Option {
	return func(t *Transport) { t.allow = allow }
}

// WithConnections sets the idle connections kept per host (default 16).
func WithConnections(n int) Option {
	return func(t *Transport) {
		if n > 0 {
			t.base.MaxIdleConnsPerHost = n
		}
	}
}

// Transport is an http.RoundTripper with the rules above.
type Transport struct {
	base  *http.Transport
	allow func(string) bool
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a transport without proxy whose requests are checked.
func NewTransport(opts ...Option) *Transport {
	t := &Transport{base: base()}
	for _, o := range opts {
		o(t)
	}
	return t
}

func base() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // never from the environment
		DialContext:           d.DialContext,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // the client's timeout bounds the request
	}
}

// NewHTTPTransport is the plain *http.Transport beneath NewTransport (no
// proxy), for a caller that checks every request's URL itself (CheckURL):
// the load, which does so per operation. Go's http.Client with a timeout
// starts a goroutine, a timer and two channels per request for any
// RoundTripper that is not an *http.Transport; at tens of thousands of
// requests a second that was a tenth of the load generator's CPU.
// WithConnections applies; WithAllow does not (there is nothing to wrap).
func NewHTTPTransport(opts ...Option) *http.Transport {
	t := &Transport{base: base()}
	for _, o := range opts {
		o(t)
	}
	return t.base
}

// RoundTrip refuses what the rules refuse, then sends req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRequestURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if t.allow != nil && !t.allow(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("request to %s %w: not a node of the cluster", req.URL.Host, ErrRefused)
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the transport.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// NewClient returns a client over a new Transport that never follows a
// redirect (the caller sees the 3xx response) and times out after timeout
// (none when 0).
func NewClient(timeout time.Duration, opts ...Option) *http.Client {
	return &http.Client{Transport: NewTransport(opts...), Timeout: timeout, CheckRedirect: NoRedirect}
}

// NoRedirect is the CheckRedirect of every Faultline client.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// AllowEndpoints accepts the host:port of any of n base URLs, endpoint(i)
// asked per request (endpoints may change when a node restarts).
func AllowEndpoints(n int, endpoint func(i int) string) func(string) bool {
	return func(hostport string) bool {
		for i := range n {
			if strings.EqualFold(hostOf(endpoint(i)), hostport) {
				return true
			}
		}
		return false
	}
}

// CheckURL refuses a request URL that does not go to the node whose
// endpoint is base: another scheme or host:port, userinfo, or no URL at
// all. Call it on every request built from a template.
func CheckURL(raw, base string) error {
	// The load's fast path: the endpoint itself followed by a path or a
	// query names the same scheme and authority (the endpoint comes from
	// the runtime, not from a template), with nothing parsed or allocated.
	if n := len(base); len(raw) > n && raw[:n] == base && (raw[n] == '/' || raw[n] == '?') && !strings.HasSuffix(base, "/") {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("request URL %q: %w", raw, err)
	}
	if u.User != nil {
		return fmt.Errorf("request URL %q with userinfo (%s@) %w", raw, u.User.Username(), ErrRefused)
	}
	b, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("node endpoint %q: %w", base, err)
	}
	if u.Host == "" || !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Host, b.Host) {
		return fmt.Errorf("request URL %q %w: it goes to %s, not to its node %s", raw, ErrRefused, u.Host, b.Host)
	}
	return nil
}

func checkRequestURL(u *url.URL) error {
	if u == nil {
		return fmt.Errorf("request without URL %w", ErrRefused)
	}
	if u.User != nil {
		return fmt.Errorf("request URL with userinfo (%s@) %w", u.User.Username(), ErrRefused)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("request URL scheme %q %w (want http or https)", u.Scheme, ErrRefused)
	}
	if u.Host == "" {
		return fmt.Errorf("request URL without host %w", ErrRefused)
	}
	return nil
}

// hostOf is the host:port of a base URL (http://host:port).
func hostOf(base string) string {
	rest, ok := strings.CutPrefix(base, "http://")
	if !ok {
		rest, _ = strings.CutPrefix(base, "https://")
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
