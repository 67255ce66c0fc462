package node

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster runs n raftkv members in this process on loopback ports.
func startCluster(t *testing.T, n int, bug string) []*Node {
	t.Helper()
	var peers []Peer
	for i := 1; i <= n; i++ {
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i),
			Raft: fmt.Sprintf("127.0.0.1:%d", freePort(t)), HTTP: fmt.Sprintf("127.0.0.1:%d", freePort(t))})
	}
	var nodes []*Node
	for _, p := range peers {
		nd, err := Start(Config{ID: p.ID, Peers: peers, DataDir: t.TempDir(), RaftBind: p.Raft, HTTPBind: p.HTTP, Bug: bug, Log: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
		t.Cleanup(func() { nd.Close() })
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, nd := range nodes {
		for {
			if addr, _ := nd.raft.LeaderWithID(); addr != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no leader elected")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReplicatedReadsWritesAndCAS(t *testing.T) {
	nodes := startCluster(t, 3, "")
	url := func(i int, path string) string { return "http://" + nodes[i].cfg.Peers[i].HTTP + path }
	if code, _ := do(t, http.MethodPut, url(1, "/kv/a?op=1"), "v1"); code != 200 {
		t.Fatalf("write through a member: %d", code)
	}
	// Every member answers with the committed value, followers by forwarding.
	for i := range nodes {
		if code, v := do(t, http.MethodGet, url(i, "/kv/a?op=2"), ""); code != 200 || v != "v1" {
			t.Errorf("read at n%d: %d %q", i+1, code, v)
		}
	}
	if code, _ := do(t, http.MethodGet, url(2, "/kv/missing"), ""); code != 404 {
		t.Errorf("absent key: %d", code)
	}
	if code, _ := do(t, http.MethodPut, url(0, "/kv/a?if=v1"), "v2"); code != 200 {
		t.Errorf("cas from the current value: %d", code)
	}
	if code, _ := do(t, http.MethodPut, url(2, "/kv/a?if=v1"), "v3"); code != 412 {
		t.Errorf("cas from a stale value must fail with 412, got %d", code)
	}
	if _, v := do(t, http.MethodGet, url(0, "/kv/a"), ""); v != "v2" {
		t.Errorf("after cas: %q", v)
	}
}

func TestUnknownBugRefused(t *testing.T) {
	if _, err := Start(Config{ID: "n1", Peers: []Peer{{ID: "n1", Raft: "127.0.0.1:1", HTTP: "127.0.0.1:2"}}, Bug: "typo"}); err == nil {
		t.Fatal("an unknown bug must be refused")
	}
}
