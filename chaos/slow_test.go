package chaos_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/targets/runtime"
)

// containerQuota reads the CPU quota the kernel applies to a node's
// container (cgroup v1 or v2), found from its process.
func containerQuota(t *testing.T, n runtime.Node) string {
	t.Helper()
	ns, err := n.NetNS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.Split(ns, "/")[2]
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if runtime.CgroupV2() && parts[1] == "" {
			q, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup", parts[2], "cpu.max"))
			return strings.TrimSpace(string(q))
		}
		if !runtime.CgroupV2() && (parts[1] == "cpu" || parts[1] == "cpu,cpuacct") {
			q, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpu", parts[2], "cpu.cfs_quota_us"))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(q))
		}
	}
	t.Fatalf("no cpu cgroup for %s", n.Name())
	return ""
}

// TestSlowCPU caps n2's CPU at 20% through docker update: the kernel's
// quota of its container says so during the fault, and is gone after heal.
func TestSlowCPU(t *testing.T) {
	_, nodes := cluster(t)
	env := newEnv(nodes, chaos.NewNetlinkFirewall())
	ctx := context.Background()
	f, err := chaos.Lookup("slow-cpu:quota=20%,node=n2", chaos.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	act, err := f.Start(ctx, env, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(act.Fault.Detail)
	during := containerQuota(t, nodes[1])
	other := containerQuota(t, nodes[0])
	d, err := act.Heal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(d)
	after := containerQuota(t, nodes[1])
	t.Logf("n2 quota during %q, after %q; n1 during %q", during, after, other)
	if !strings.HasPrefix(during, "20000") {
		t.Errorf("n2's quota during slow-cpu is %q, want 20000", during)
	}
	if strings.HasPrefix(after, "20000") || strings.HasPrefix(other, "20000") {
		t.Errorf("quota left after heal (%q) or set on a node not named (%q)", after, other)
	}
	// HealAll lifts it too.
	if act, err = f.Start(ctx, env, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if err := chaos.HealAll(ctx, env); err != nil {
		t.Fatal(err)
	}
	if q := containerQuota(t, nodes[1]); strings.HasPrefix(q, "20000") {
		t.Errorf("HealAll left n2's quota at %q", q)
	}
}

// TestSlowIORefusedOnCgroupV1 checks the one-line refusal where io.max
// does not exist.
func TestSlowIORefusedOnCgroupV1(t *testing.T) {
	if runtime.CgroupV2() {
		t.Skip("cgroup v2 host: slow-io can work")
	}
	f, err := chaos.Lookup("slow-io:bps=1MB", chaos.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	err = f.(chaos.PlanChecker).CheckPlan(chaos.PlanInfo{Runtime: "docker", Root: true})
	if !errors.Is(err, runtime.ErrNoIOLimit) && (err == nil || !strings.Contains(err.Error(), "cgroup v2")) {
		t.Errorf("slow-io on cgroup v1: %v, want a refusal", err)
	}
	t.Log(err)
}

// TestKillTerm stops a node with SIGTERM and restarts it with its data.
func TestKillTerm(t *testing.T) {
	_, nodes := cluster(t)
	env := newEnv(nodes, chaos.NewNetlinkFirewall())
	ctx := context.Background()
	f, err := chaos.Lookup("kill:signal=TERM,grace=3s", chaos.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	before := make([]int, len(nodes))
	for i, n := range nodes {
		before[i] = boots(t, n)
	}
	act, err := f.Start(ctx, env, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(act.Fault.Detail)
	if !strings.Contains(act.Fault.Detail, "kill -TERM") {
		t.Errorf("detail %q does not name the signal", act.Fault.Detail)
	}
	v := index(nodes, act.Fault.Nodes[0])
	if answers(nodes[v], 700*time.Millisecond) {
		t.Errorf("%s answers although stopped", nodes[v].Name())
	}
	d, err := act.Heal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(d)
	waitAnswers(t, nodes[v])
	if got := boots(t, nodes[v]); got != before[v]+1 {
		t.Errorf("%s booted %d times, want %d", nodes[v].Name(), got, before[v]+1)
	}
	assertFull(t, nodes)
}

// TestPacketHealAll leaves a packet fault active and heals with HealAll
// (the path of Ctrl-C and errors): rules and readers gone, links full.
func TestPacketHealAll(t *testing.T) {
	r := newPacketRig(t)
	f, err := chaos.Lookup("packet:delay=50ms,loss=50,around=random", chaos.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	act, err := f.Start(ctx, r.env, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(act.Fault.Detail)
	if len(act.Fault.Links) != 2*(len(r.nodes)-1) {
		t.Errorf("around=random: links %v, want every link from and to one node", act.Fault.Links)
	}
	if err := chaos.HealAll(ctx, r.env); err != nil {
		t.Fatal(err)
	}
	assertFull(t, r.nodes)
	assertNoTables(t, r.nodes)
	p := udpProbe(t, r.ns[0], r.echoAddr(1), 200, time.Millisecond)
	if p.unique != p.sent || median(p.rtt) > 20*time.Millisecond {
		t.Errorf("after HealAll n1<->n2: %d of %d back, median %v", p.unique, p.sent, median(p.rtt))
	}
}
