// Package node is naive-paxos: the seed design's "Paxos" taken literally.
// Each node appends proposals to its own log, and agree() consults only that
// log, so every proposal is "agreed" at once by the node that received it.
// Replication to the other nodes is best-effort and asynchronous: one try,
// no retry, no ordering. It is a reference target that must FAIL: its writes
// are acknowledged without any quorum, so a partition (or mere replication
// lag) lets reads elsewhere miss acknowledged writes.
package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/faultline/faultline/targets/kvapi"
)

// Config configures a node.
type Config struct {
	ID string
	// Peers are the HTTP addresses (host:port) of the other nodes.
	Peers    []string
	HTTPBind string
	Log      io.Writer
}

// Node is a running naive-paxos member.
type Node struct {
	cfg  Config
	logs *log.Logger
	http *http.Server
	hc   *http.Client

	mu       sync.Mutex
	proposal []entry // this node's own log: every proposal it ever saw
	state    map[string]string
}

type entry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Start serves HTTP and returns once it listens.
func Start(cfg Config) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	n := &Node{cfg: cfg, state: map[string]string{}, logs: log.New(cfg.Log, "naive-paxos "+cfg.ID+" ", log.LstdFlags|log.Lmicroseconds),
		hc: &http.Client{Timeout: 500 * time.Millisecond}}
	ln, err := net.Listen("tcp", cfg.HTTPBind)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/kv/", n.handleKV)
	mux.HandleFunc("/replicate", n.handleReplicate)
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) {
		// No leader: every node decides alone.
		json.NewEncoder(w).Encode(kvapi.Status{ID: cfg.ID})
	})
	n.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logs.Printf("http: %v", err)
		}
	}()
	n.logs.Printf("started on %s, peers %v", cfg.HTTPBind, cfg.Peers)
	return n, nil
}

// Close stops serving.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return n.http.Shutdown(ctx)
}

// propose appends to the local log and returns whether agree() accepts it.
func (n *Node) propose(e entry) bool {
	n.proposal = append(n.proposal, e)
	return n.agree(e)
}

// agree checks only this node's own log: the proposal is there, so it is
// "chosen". This is the bug the target exists to exhibit.
func (n *Node) agree(e entry) bool {
	for i := len(n.proposal) - 1; i >= 0; i-- {
		if n.proposal[i] == e {
			return true
		}
	}
	return false
}

func (n *Node) handleKV(w http.ResponseWriter, r *http.Request) {
	key, ok := kvapi.Key(r)
	if !ok {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		n.mu.Lock()
		v, ok := n.state[key]
		n.mu.Unlock()
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		io.WriteString(w, v)
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e := entry{Key: key, Value: string(body)}
		n.mu.Lock()
		if from, ok := r.URL.Query()["if"]; ok && n.state[key] != from[0] {
			n.mu.Unlock()
			http.Error(w, "compare failed", http.StatusPreconditionFailed)
			return
		}
		if n.propose(e) {
			n.state[key] = e.Value
		}
		n.mu.Unlock()
		go n.replicate(e)
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// replicate tells every peer once, without waiting for anyone to agree.
func (n *Node) replicate(e entry) {
	b, _ := json.Marshal(e)
	for _, p := range n.cfg.Peers {
		resp, err := n.hc.Post("http://"+p+"/replicate", "application/json", bytes.NewReader(b))
		if err != nil {
			continue // best effort: lost for good
		}
		resp.Body.Close()
	}
}

func (n *Node) handleReplicate(w http.ResponseWriter, r *http.Request) {
	var e entry
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	if n.propose(e) {
		n.state[e.Key] = e.Value
	}
	n.mu.Unlock()
}
