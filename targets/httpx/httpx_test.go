package httpx

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// proxy counts what reaches it.
func proxy(t *testing.T) (*atomic.Int64, string) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return &n, srv.URL
}

// A request to a node goes to the node even with a proxy in the
// environment. Go never proxies loopback names, so the node is addressed as
// 0.0.0.0 (Linux connects that to the local host), which a proxy from the
// environment would take.
func TestNoProxyFromTheEnvironment(t *testing.T) {
	seen, purl := proxy(t)
	var direct atomic.Int64
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { direct.Add(1) }))
	defer node.Close()
	_, port, _ := net.SplitHostPort(node.Listener.Addr().String())
	base := "http://0.0.0.0:" + port
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		t.Setenv(k, purl)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	hc := NewClient(2 * time.Second)
	resp, err := hc.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen.Load() != 0 || direct.Load() != 1 {
		t.Errorf("proxy saw %d requests, the node %d", seen.Load(), direct.Load())
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
	}))
	defer node.Close()
	resp, err := NewClient(time.Second).Get(node.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
		t.Errorf("status %d, %d requests elsewhere", resp.StatusCode, elsewhere.Load())
	}
}

func TestUserinfoAndForeignHostsRefused(t *testing.T) {
	var hits atomic.Int64
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer node.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(100) }))
	defer other.Close()
	hc := NewClient(time.Second, WithAllow(AllowEndpoints(1, func(int) string { return node.URL })))
	host := strings.TrimPrefix(node.URL, "http://")
	for _, u := range []string{
		"http://" + host + "@" + strings.TrimPrefix(other.URL, "http://") + "/kv", // userinfo, another host
		"http://user:pw@" + host + "/kv",                                          // userinfo, the node
		other.URL + "/kv",                                                         // not a node
	} {
		resp, err := hc.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want refused", u, err)
		}
	}
	resp, err := hc.Get(node.URL + "/kv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Errorf("hits %d, want the one request to the node", hits.Load())
	}
}

func TestCheckURL(t *testing.T) {
	base := "http://10.160.0.2:2379"
	for _, u := range []string{base + "/kv/a?op=1", base + "/?op=2", "HTTP://10.160.0.2:2379/x"} {
		if err := CheckURL(u, base); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{
		"http://10.160.0.2:2379@192.0.2.1/kv/a?op=3",
		"http://u@10.160.0.2:2379/kv",
		"http://192.0.2.1/kv",
		"http://10.160.0.2:2380/kv",
		"https://10.160.0.2:2379/kv",
		"/kv/a",
		"http://10.160.0.2:2379%zz",
	} {
		if err := CheckURL(u, base); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}
