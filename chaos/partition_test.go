package chaos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/echo"
	"github.com/faultline/faultline/targets/runtime"
)

type topoCase struct {
	fault chaos.Fault
	// want says whether a can open a connection to b (a, b node indexes)
	// and whether the harness reaches b, from what the fault reports.
	want func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(b int) bool)
}

func topologies() []topoCase {
	all := func(int) bool { return true }
	return []topoCase{
		{chaos.Isolate("partition-random", chaos.ChooseRandom), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			if len(f.Nodes) != 1 {
				t.Fatalf("isolate reports nodes %v", f.Nodes)
			}
			v := idx[f.Nodes[0]]
			return func(a, b int) bool { return a != v && b != v }, all
		}},
		{chaos.Halves(), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			if len(f.Nodes) != n/2 {
				t.Fatalf("minority %v, want %d nodes", f.Nodes, n/2)
			}
			in := map[int]bool{}
			for _, m := range f.Nodes {
				in[idx[m]] = true
			}
			return func(a, b int) bool { return in[a] == in[b] }, all
		}},
		{chaos.Ring(), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			if len(f.Nodes) != n {
				t.Fatalf("ring order %v, want %d nodes", f.Nodes, n)
			}
			pos := map[int]int{}
			for k, m := range f.Nodes {
				pos[idx[m]] = k
			}
			return func(a, b int) bool {
				d := pos[a] - pos[b]
				if d < 0 {
					d = -d
				}
				return min(d, n-d) <= 1
			}, all
		}},
		{chaos.Bridge(), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			if len(f.Nodes) != 1 {
				t.Fatalf("bridge reports nodes %v", f.Nodes)
			}
			br := idx[f.Nodes[0]]
			// The two halves are read from the detail: "... between [a b] and [c d] ...".
			side := map[int]int{}
			parts := strings.Split(f.Detail, "[")
			if len(parts) < 3 {
				t.Fatalf("bridge detail %q does not name the halves", f.Detail)
			}
			for s, p := range parts[1:3] {
				for _, m := range strings.Fields(p[:strings.Index(p, "]")]) {
					side[idx[m]] = s + 1
				}
			}
			if len(side) != n-1 {
				t.Fatalf("halves %v do not cover the nodes but the bridge", side)
			}
			return func(a, b int) bool { return a == br || b == br || side[a] == side[b] }, all
		}},
		{chaos.OneWay("partition-oneway", chaos.ChooseRandom), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			v := idx[f.Nodes[0]]
			return func(a, b int) bool { return a != v }, all
		}},
		{chaos.ClientIsolate(), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			if len(f.Nodes) != (n-1)/2 {
				t.Fatalf("client isolation of %v, want %d nodes", f.Nodes, (n-1)/2)
			}
			cut := map[int]bool{}
			for _, m := range f.Nodes {
				cut[idx[m]] = true
			}
			return func(a, b int) bool { return true }, func(b int) bool { return !cut[b] }
		}},
		{chaos.Loss(100), func(t *testing.T, f *history.Fault, idx map[string]int, n int) (func(a, b int) bool, func(int) bool) {
			return func(a, b int) bool { return a == b }, all
		}},
	}
}

// TestPartitionTopologies installs each network fault on a 5-node cluster,
// asserts the full node-to-node connectivity matrix (and the harness's reach)
// while it is on, and full connectivity and no rules left after heal.
func TestPartitionTopologies(t *testing.T) {
	_, nodes := cluster(t)
	testTopologies(t, nodes, chaos.NewNetlinkFirewall())
}

func testTopologies(t *testing.T, nodes []runtime.Node, fw chaos.Firewall, only ...string) {
	env := newEnv(nodes, fw)
	idx := map[string]int{}
	for i, n := range nodes {
		idx[n.Name()] = i
	}
	ctx := context.Background()
	for k, tc := range topologies() {
		if len(only) > 0 && !slices.Contains(only, tc.fault.Kind()) {
			continue
		}
		t.Run(tc.fault.Kind(), func(t *testing.T) {
			act, err := tc.fault.Start(ctx, env, rand.New(rand.NewPCG(uint64(k), 7)))
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			healed := false
			defer func() {
				if !healed {
					_ = chaos.HealAll(ctx, env)
				}
			}()
			f := act.Fault
			t.Logf("%s: %s (%d links, in place in %v)", f.Kind, f.Detail, len(f.Links), time.Duration(f.ApplyNanos))
			wantNode, wantClient := tc.want(t, f, idx, len(nodes))
			m, c := reach(t, nodes)
			bad := false
			for a := range nodes {
				for b := range nodes {
					if a != b && m[a][b] != wantNode(a, b) {
						bad = true
						t.Errorf("%s -> %s: reached=%v, want %v", nodes[a].Name(), nodes[b].Name(), m[a][b], wantNode(a, b))
					}
				}
				if c[a] != wantClient(a) {
					bad = true
					t.Errorf("harness -> %s: reached=%v, want %v", nodes[a].Name(), c[a], wantClient(a))
				}
			}
			// The history says exactly which links are broken.
			var broken []string
			for a := range nodes {
				for b := range nodes {
					if a != b && !m[a][b] {
						broken = append(broken, nodes[a].Name()+"->"+nodes[b].Name())
					}
				}
				if !c[a] {
					broken = append(broken, "client->"+nodes[a].Name(), nodes[a].Name()+"->client")
				}
			}
			if !sameSet(broken, f.Links) {
				bad = true
				t.Errorf("links recorded %v, links broken %v", f.Links, broken)
			}
			if bad {
				t.Logf("matrix (row reaches column):\n%s", show(nodes, m, c))
			}
			if _, err := act.Heal(ctx); err != nil {
				t.Fatalf("heal: %v", err)
			}
			healed = true
			assertFull(t, nodes)
			assertNoTables(t, nodes)
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// TestLossIsPartial drops half the packets between nodes and counts UDP
// echoes: a datagram and its echo each cross one lossy hop, so about a
// quarter come back.
func TestLossIsPartial(t *testing.T) {
	_, nodes := cluster(t)
	env := newEnv(nodes, chaos.NewNetlinkFirewall())
	ctx := context.Background()
	act, err := chaos.Loss(50).Start(ctx, env, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := nodes[0].NetNS(ctx)
	const sent = 400
	got := udpFrom(t, ns, net.JoinHostPort(nodes[1].Addr(), fmt.Sprint(echo.Port)), sent)
	if _, err := act.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("loss 50%%: %d of %d datagrams echoed (expected about %d)", got, sent, sent/4)
	if got < sent/10 || got > sent*45/100 {
		t.Errorf("%d of %d echoed through 50%% loss each way; want about a quarter", got, sent)
	}
	if all := udpFrom(t, ns, net.JoinHostPort(nodes[1].Addr(), fmt.Sprint(echo.Port)), 50); all < 48 {
		t.Errorf("after heal only %d of 50 datagrams echoed", all)
	}
	assertNoTables(t, nodes)
}

// TestPartitionApplyTime measures the time from "inject" to "every rule in
// place" for partitions of 5 nodes, as the history records it. It reports
// the median; it asserts nothing about time (the machine is shared).
func TestPartitionApplyTime(t *testing.T) {
	_, nodes := cluster(t)
	fw := chaos.NewNetlinkFirewall()
	env := newEnv(nodes, fw)
	ctx := context.Background()
	if err := fw.Start(ctx, nodes); err != nil { // as a run does before its load
		t.Fatal(err)
	}
	var took []time.Duration
	for i := range 15 {
		f := chaos.Halves()
		if i%2 == 1 {
			f = chaos.Isolate("partition-random", chaos.ChooseRandom)
		}
		act, err := f.Start(ctx, env, rand.New(rand.NewPCG(uint64(i), 3)))
		if err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Duration(act.Fault.ApplyNanos))
		if _, err := act.Heal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(took)
	t.Logf("5-node partition, inject -> rules in place (netns): median %v, min %v, max %v over %d", took[len(took)/2], took[0], took[len(took)-1], len(took))
	assertNoTables(t, nodes)
}
