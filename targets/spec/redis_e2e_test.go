package spec_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/spec"
)

// runRedis runs examples/redis-debian.yaml, shortened, with target options.
func runRedis(t *testing.T, nodes int, nemesis string, opts map[string]string) *faultline.Outcome {
	t.Helper()
	sc := loadRedisExample(t)
	sc.Cluster.Nodes = nodes
	sc.Cluster.Options = opts
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Load.Duration = scenario.Duration(6 * time.Second)
	sc.Chaos.Interval = scenario.Duration(2 * time.Second)
	sc.Chaos.Quiet = scenario.Duration(2 * time.Second)
	// Keys retire after 20 operations, so that keys written only before
	// a kill are read at the end.
	sc.Load.OpsPerKey = 20
	sc.Out, sc.Seed = t.TempDir(), 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := faultline.RunContext(ctx, sc, faultline.WithLog(t.Logf))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Log(report.VerdictLine(out.Summary, out.Dir))
	assertNothingLeft(t, out.Summary.RunID)
	return out
}

func check(out *faultline.Outcome, name string) *checkers.Result {
	for i := range out.Summary.Checks {
		if out.Summary.Checks[i].Checker == name {
			return &out.Summary.Checks[i]
		}
	}
	return nil
}

// Redis from Debian's redis-server, driven by the redis protocol client:
// reads from the primary are valid with the primary partitioned away;
// reads from whichever node the load chose (a replica cut off from the
// primary answers its old copy) are caught as stale; a single node without
// persistence, killed, comes back empty: lost writes.
func TestRedisDebianVerdicts(t *testing.T) {
	needDocker(t)
	t.Run("primary-reads", func(t *testing.T) {
		out := runRedis(t, 3, "partition", nil)
		if out.Summary.Verdict != checkers.Valid || out.Summary.Ops.OK < 500 {
			t.Fatalf("verdict %s with %d ok, want valid: %+v", out.Summary.Verdict, out.Summary.Ops.OK, out.Summary.Checks)
		}
	})
	t.Run("node-reads", func(t *testing.T) {
		out := runRedis(t, 3, "partition", map[string]string{"reads": "node"})
		if out.Summary.Verdict != checkers.Invalid {
			t.Fatalf("verdict %s, want invalid: %+v", out.Summary.Verdict, out.Summary.Checks)
		}
		if c := check(out, "stale-reads"); c == nil || c.Verdict != checkers.Invalid {
			t.Errorf("stale-reads: %+v, want invalid", c)
		}
	})
	t.Run("kill-without-persistence", func(t *testing.T) {
		out := runRedis(t, 1, "kill", map[string]string{"appendonly": "no"})
		if out.Summary.Verdict != checkers.Invalid {
			t.Fatalf("verdict %s, want invalid: %+v", out.Summary.Verdict, out.Summary.Checks)
		}
		if c := check(out, "lost-writes"); c == nil || c.Verdict != checkers.Invalid {
			t.Errorf("lost-writes: %+v, want invalid", c)
		}
	})
}

// The client's mapping reaches Redis: a write of workload key k lands in
// the Redis key client.key names, and a cas and a read go through it too.
func TestRedisKeyMapping(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := *loadRedisExample(t).Cluster.Spec
	tg, err := spec.New(s, spec.Config{Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	art, err := tg.Prepare(ctx, tg.DefaultVersion(), targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := docker.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runID := runtime.NewRunID()
	cl, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 1, HealthTimeout: time.Minute})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	defer func() {
		if err := cl.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		assertNothingLeft(t, runID)
	}()
	base := cl.Nodes()[0].Endpoint(targets.ClientPort)
	c, err := tg.Client(targets.ClientConfig{Workload: "register"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.(targets.Setupper).Setup(ctx, []string{base}); err != nil {
		t.Fatal(err)
	}
	do := func(op history.Event) targets.Outcome {
		octx, ocancel := context.WithTimeout(ctx, 5*time.Second)
		defer ocancel()
		return c.Do(octx, &op, base)
	}
	if out := do(history.Event{F: history.FWrite, ID: 1, Key: "k1", Value: "1-a"}); out.Type != history.OK {
		t.Fatalf("write: %+v", out)
	}
	if out := do(history.Event{F: history.FCAS, ID: 2, Key: "k1", From: "1-a", Value: "2-b"}); out.Type != history.OK {
		t.Fatalf("cas: %+v", out)
	}
	if out := do(history.Event{F: history.FCAS, ID: 3, Key: "k1", From: "1-a", Value: "3-c"}); out.Type != history.Fail {
		t.Fatalf("cas from a stale value: %+v, want fail", out)
	}
	if out := do(history.Event{F: history.FRead, ID: 4, Key: "k1"}); out.Type != history.OK || out.Value != "2-b" {
		t.Fatalf("read: %+v, want 2-b", out)
	}
	if out := do(history.Event{F: history.FRead, ID: 5, Key: "k2"}); out.Type != history.OK || out.Value != "" {
		t.Fatalf("read of an absent key: %+v", out)
	}
	raw := goredis.NewClient(&goredis.Options{Addr: strings.TrimPrefix(base, "http://")})
	defer raw.Close()
	if v, err := raw.Get(ctx, "app:k1").Result(); err != nil || v != "2-b" {
		t.Errorf("redis key app:k1 = %q, %v; want 2-b", v, err)
	}
	if n, err := raw.Exists(ctx, "k1").Result(); err != nil || n != 0 {
		t.Errorf("the unmapped key k1 exists (%d, %v)", n, err)
	}
	leader, err := tg.Leader(ctx, nil, []string{base})
	if err != nil || leader != 0 {
		t.Errorf("leader %d, %v", leader, err)
	}
}
