package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/image"
	"github.com/faultline/faultline/targets/postgres"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
)

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		err  string
	}{
		{opts: nil},
		{opts: map[string]string{"isolation": "read-committed", "replica-reads": "true"}},
		{opts: map[string]string{"isolation": "snapshot"}, err: "isolation=snapshot"},
		{opts: map[string]string{"replica-reads": "maybe"}, err: "replica-reads=maybe"},
		{opts: map[string]string{"schema": "app_1"}},
		{opts: map[string]string{"schema": "App; DROP"}, err: "schema=App; DROP"},
		{opts: map[string]string{"bug": "x"}, err: `unknown target option "bug"`},
	} {
		_, err := postgres.New(tc.opts)
		if (err != nil) != (tc.err != "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%v) = %v, want error containing %q", tc.opts, err, tc.err)
		}
	}
	tg, _ := postgres.New(nil)
	if _, err := tg.Client(targets.ClientConfig{ReadMode: "linearizable"}); err == nil {
		t.Errorf("a read mode was accepted")
	}
	if !tg.NeedsImage() || !tg.Supports("txn") || tg.Supports("read") {
		t.Errorf("NeedsImage %v, Supports(txn) %v, Supports(read) %v", tg.NeedsImage(), tg.Supports("txn"), tg.Supports("read"))
	}
}

// launch starts a cluster of n nodes of tg, or skips without Docker.
func launch(t *testing.T, ctx context.Context, tg *postgres.Target, n int) runtime.Cluster {
	t.Helper()
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	rt, err := docker.New(ctx)
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	start := time.Now()
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s ready in %v", art.Image, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	c, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runtime.NewRunID(), Target: tg, Artifact: art, Nodes: n,
		LogDir: filepath.Join(t.TempDir(), "logs"), HealthTimeout: 90 * time.Second, Log: t.Logf})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Logf("%d nodes healthy in %v", n, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func bases(c runtime.Cluster) []string {
	var out []string
	for _, n := range c.Nodes() {
		out = append(out, n.Endpoint(targets.ClientPort))
	}
	return out
}

func do(t *testing.T, ctx context.Context, cl targets.Client, base, txn string) targets.Outcome {
	t.Helper()
	op := &history.Event{Type: history.Invoke, F: "txn", Data: json.RawMessage(txn)}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return cl.Do(rctx, op, base)
}

func wantOK(t *testing.T, out targets.Outcome, data string) {
	t.Helper()
	if out.Type != history.OK || string(out.Data) != data {
		t.Errorf("got %v %s (%s), want ok %s", out.Type, out.Data, out.Error, data)
	}
}

// One primary and one streaming replica: the schema, list-append and
// rw-register transactions read what was written, in order, absent keys
// read null; the leader is n1; the replica serves reads only with
// replica-reads, and replays the primary's writes.
func TestTransactions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tg, err := postgres.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := launch(t, ctx, tg, 2)
	bs := bases(c)
	cl, err := tg.Client(targets.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.(interface{ Close() error }).Close()
	if err := cl.(targets.Setupper).Setup(ctx, bs); err != nil {
		t.Fatalf("setup: %v", err)
	}
	if i, err := tg.Leader(ctx, http.DefaultClient, bs); i != 0 || err != nil {
		t.Errorf("leader %d, %v; want n1", i, err)
	}
	p := bs[0]
	wantOK(t, do(t, ctx, cl, p, `[["r","k1.0",null]]`), `[["r","k1.0",null]]`)
	wantOK(t, do(t, ctx, cl, p, `[["append","k1.0",1],["r","k1.0",null],["append","k1.0",2]]`), `[["append","k1.0",1],["r","k1.0",[1]],["append","k1.0",2]]`)
	// Sent to the replica, a write transaction is performed by the primary.
	wantOK(t, do(t, ctx, cl, bs[1], `[["append","k1.0",3],["r","k1.0",null]]`), `[["append","k1.0",3],["r","k1.0",[1,2,3]]]`)
	wantOK(t, do(t, ctx, cl, p, `[["w","k2.0",5],["r","k2.0",null],["r","k3.0",null]]`), `[["w","k2.0",5],["r","k2.0",5],["r","k3.0",null]]`)
	wantOK(t, do(t, ctx, cl, p, `[["w","k2.0",6]]`), `[["w","k2.0",6]]`)
	wantOK(t, do(t, ctx, cl, bs[1], `[["r","k2.0",null],["r","k1.0",null]]`), `[["r","k2.0",6],["r","k1.0",[1,2,3]]]`)
	if out := do(t, ctx, cl, p, `[["append","k1.0","x"]]`); out.Type != history.Fail {
		t.Errorf("a malformed transaction: %v %s", out.Type, out.Error)
	}

	// replica-reads: read-only transactions go to the replica, which
	// catches up with the primary (asynchronously).
	rt, _ := postgres.New(map[string]string{"replica-reads": "true"})
	rcl, _ := rt.Client(targets.ClientConfig{})
	defer rcl.(interface{ Close() error }).Close()
	if err := rcl.(targets.Setupper).Setup(ctx, bs); err != nil {
		t.Fatalf("setup: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := do(t, ctx, rcl, p, `[["r","k1.0",null]]`)
		if string(out.Version) != `"replica"` {
			t.Fatalf("a read-only transaction with replica-reads served by %s", out.Version)
		}
		if string(out.Data) == `[["r","k1.0",[1,2,3]]]` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never caught up: %v %s %s", out.Type, out.Data, out.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := do(t, ctx, rcl, bs[1], `[["w","k4.0",1]]`); out.Type != history.OK || string(out.Version) != `"primary"` {
		t.Errorf("a write with replica-reads: %v %s %s", out.Type, out.Version, out.Error)
	}

	// A killed primary refuses: the transaction certainly did not happen.
	if err := c.Nodes()[0].Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if out := do(t, ctx, cl, p, `[["append","k1.0",4]]`); out.Type != history.Fail {
		t.Errorf("a transaction on a killed primary: %v %s", out.Type, out.Error)
	}
	if err := c.Nodes()[0].Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := runtime.WaitHealthy(ctx, tg, c.Nodes()[:1], 60*time.Second); err != nil {
		t.Fatal(err)
	}
	np := c.Nodes()[0].Endpoint(targets.ClientPort)
	out := do(t, ctx, cl, np, `[["append","k1.0",4],["r","k1.0",null]]`)
	wantOK(t, out, `[["append","k1.0",4],["r","k1.0",[1,2,3,4]]]`)
}

// The image builder's missing engine is what bench turns into exit 3.
func TestNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	tg, _ := postgres.New(nil)
	_, err := tg.Prepare(context.Background(), "", targets.PrepareOptions{})
	if err == nil || !errors.Is(err, image.ErrNoEngine) {
		t.Fatalf("Prepare without an engine: %v", err)
	}
}
