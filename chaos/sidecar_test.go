package chaos_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/chaos/sidecar"
	"github.com/faultline/faultline/targets/runtime"
)

// TestSidecarFirewall forces the path used without host root: every rule
// goes through an agent container that shares the node's network namespace
// with NET_ADMIN. The same connectivity matrices hold; a restarted node (a
// new namespace) gets a new agent; closing removes every agent and no table
// is left.
func TestSidecarFirewall(t *testing.T) {
	rt, nodes := cluster(t)
	ctx := context.Background()
	image, err := sidecar.BuildImage(ctx, rt, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sidecar.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	fw := sidecar.New(cli, image)
	closed := false
	defer func() {
		if !closed {
			_ = fw.Close(ctx)
		}
	}()
	if err := fw.Start(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	if n := len(agents(t, cli)); n != len(nodes) {
		t.Errorf("%d agents running, want %d", n, len(nodes))
	}
	testTopologies(t, nodes, fw, "partition-halves", "partition-ring", "partition-oneway", "partition-client")

	// Timing through the sidecar, for the report.
	env := newEnv(nodes, fw)
	var took []time.Duration
	for i := range 9 {
		act, err := chaos.Halves().Start(ctx, env, rand.New(rand.NewPCG(uint64(i), 9)))
		if err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Duration(act.Fault.ApplyNanos))
		if _, err := act.Heal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(took)
	t.Logf("5-node partition, inject -> rules in place (sidecar): median %v, min %v, max %v", took[len(took)/2], took[0], took[len(took)-1])

	// A restarted node has a new namespace: its agent is replaced.
	kill := chaos.Kill("kill", chaos.ChooseRandom)
	act, err := kill.Start(ctx, env, rand.New(rand.NewPCG(11, 11)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := act.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	testTopologies(t, nodes, fw, "partition-halves", "partition-oneway")
	if n := len(agents(t, cli)); n != len(nodes) {
		t.Errorf("%d agents running after a restart, want %d (the old one replaced)", n, len(nodes))
	}

	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	deadline := time.Now().Add(20 * time.Second)
	for len(agents(t, cli)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if left := agents(t, cli); len(left) > 0 {
		t.Errorf("agents left after Close: %v", left)
	}
	assertNoTables(t, nodes)
}

// agents lists the sidecar containers of the shared cluster's run.
func agents(t *testing.T, cli client.APIClient) []string {
	t.Helper()
	f := client.Filters{}.Add("label", runtime.LabelRun+"="+shared.runID)
	cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs.Items {
		if n := c.Labels[runtime.LabelNode]; len(n) > 4 && n[len(n)-4:] == "-net" {
			out = append(out, c.Names[0])
		}
	}
	return out
}

// TestSidecarNetemProbe asks an agent in a namespace of its own whether the
// kernel has netem; it agrees with the probe made from the host.
func TestSidecarNetemProbe(t *testing.T) {
	rt, _ := cluster(t)
	ctx := context.Background()
	image, err := sidecar.BuildImage(ctx, rt, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sidecar.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	host := netfault.CheckNetem()
	got := sidecar.CheckNetem(ctx, cli, image, shared.runID)
	if (got == nil) != (host == nil) || (got != nil && !errors.Is(got, netfault.ErrNoNetem)) {
		t.Errorf("sidecar netem probe %v, host probe %v", got, host)
	}
	t.Logf("netem: %v", got)
}
