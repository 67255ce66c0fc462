package node

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWritesAreAckedAloneAndReplicatedLater(t *testing.T) {
	addrs := make([]string, 3)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		l.Close()
	}
	for i, a := range addrs {
		var peers []string
		for j, b := range addrs {
			if j != i {
				peers = append(peers, b)
			}
		}
		n, err := Start(Config{ID: a, Peers: peers, HTTPBind: a})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+addrs[0]+"/kv/k?op=1", strings.NewReader("v"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("write: %v %v", err, resp)
	}
	// Replication is asynchronous: the other nodes get it eventually.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addrs[2] + "/kv/k")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == "v" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the write never reached another node")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
