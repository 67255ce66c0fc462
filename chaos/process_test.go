package chaos_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/echo"
	"github.com/faultline/faultline/targets/runtime"
)

func boots(t *testing.T, n runtime.Node) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := echo.Boots(ctx, echo.HostPort(n.Endpoint(targets.ClientPort)))
	if err != nil {
		t.Fatalf("boots of %s: %v", n.Name(), err)
	}
	return b
}

func answers(n runtime.Node, within time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, err := echo.Say(ctx, echo.HostPort(n.Endpoint(targets.ClientPort)), "are you there")
	return err == nil
}

// waitAnswers polls until the node answers (a restarted node takes a moment).
func waitAnswers(t *testing.T, n runtime.Node) {
	t.Helper()
	for try := 0; try < 60; try++ {
		if answers(n, time.Second) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s does not answer", n.Name())
}

func index(nodes []runtime.Node, name string) int {
	for i, n := range nodes {
		if n.Name() == name {
			return i
		}
	}
	return -1
}

// TestKillRestartKeepsData kills a node with SIGKILL: it stops answering;
// healed, it answers again, restarted on the same data (its boot count, kept
// in its data directory, went up by one).
func TestKillRestartKeepsData(t *testing.T) {
	_, nodes := cluster(t)
	env := newEnv(nodes, chaos.NewNetlinkFirewall())
	ctx := context.Background()
	before := make([]int, len(nodes))
	for i, n := range nodes {
		before[i] = boots(t, n)
	}
	act, err := chaos.Kill("kill", chaos.ChooseRandom).Start(ctx, env, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	v := index(nodes, act.Fault.Nodes[0])
	t.Logf("%s", act.Fault.Detail)
	if answers(nodes[v], 700*time.Millisecond) {
		t.Errorf("%s answers although killed", nodes[v].Name())
	}
	detail, err := act.Heal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(detail)
	waitAnswers(t, nodes[v])
	if got := boots(t, nodes[v]); got != before[v]+1 {
		t.Errorf("%s booted %d times, want %d: the restart did not keep its data", nodes[v].Name(), got, before[v]+1)
	}
	assertFull(t, nodes)
}

// TestKillAllRestart kills every node at once and restarts them all; the
// last resort (HealAll) is not needed afterwards.
func TestKillAllRestart(t *testing.T) {
	_, nodes := cluster(t)
	env := newEnv(nodes, chaos.NewNetlinkFirewall())
	ctx := context.Background()
	before := make([]int, len(nodes))
	for i, n := range nodes {
		before[i] = boots(t, n)
	}
	act, err := chaos.KillAll().Start(ctx, env, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(act.Fault.Nodes) != len(nodes) {
		t.Errorf("kill-all reports %v", act.Fault.Nodes)
	}
	for _, n := range nodes {
		if answers(n, 500*time.Millisecond) {
			t.Errorf("%s answers although every node was killed", n.Name())
		}
	}
	if _, err := act.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		waitAnswers(t, n)
		if got := boots(t, n); got != before[i]+1 {
			t.Errorf("%s booted %d times, want %d", n.Name(), got, before[i]+1)
		}
	}
	assertFull(t, nodes)
}

// TestPauseThenHealAll freezes a node: it stops answering. The last resort,
// HealAll (what a run does at its end, on error and on Ctrl-C), thaws it
// without the fault's own heal, and restarts a killed node too.
func TestPauseThenHealAll(t *testing.T) {
	_, nodes := cluster(t)
	env := newEnv(nodes, chaos.NewNetlinkFirewall())
	ctx := context.Background()
	act, err := chaos.Pause("pause", chaos.ChooseRandom).Start(ctx, env, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	p := index(nodes, act.Fault.Nodes[0])
	if answers(nodes[p], 700*time.Millisecond) {
		t.Errorf("%s answers although paused", nodes[p].Name())
	}
	kact, err := chaos.Kill("kill", chaos.ChooseRandom).Start(ctx, env, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	k := index(nodes, kact.Fault.Nodes[0])
	if _, err := chaos.Halves().Start(ctx, env, rand.New(rand.NewPCG(4, 4))); err != nil && k == p {
		t.Logf("partition with a killed node: %v", err)
	}
	if err := chaos.HealAll(ctx, env); err != nil {
		t.Fatalf("heal all: %v", err)
	}
	waitAnswers(t, nodes[p])
	waitAnswers(t, nodes[k])
	assertFull(t, nodes)
	assertNoTables(t, nodes)
}
