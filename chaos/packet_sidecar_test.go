package chaos_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/sidecar"
)

var _ chaos.PacketShaper = (*sidecar.Firewall)(nil)

// TestPacketThroughSidecar runs the packet fault the way it runs without
// host root: the shaper lives in each node's agent container. Loss and
// delay on n1->n3 are measured as on the host path; healing (and closing
// the firewall) leaves no table.
func TestPacketThroughSidecar(t *testing.T) {
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
	if err := sidecar.CheckQueue(ctx, cli, image, shared.runID); err != nil {
		t.Fatalf("queue probe through the sidecar: %v", err)
	}
	fw := sidecar.New(cli, image)
	defer fw.Close(ctx)
	if err := fw.Start(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	r := newPacketRig(t)
	r.env = newEnv(nodes, fw)
	for _, tc := range []struct {
		spec string
		loss float64
	}{{"packet:loss=10,links=n1->n3", 0.10}, {"packet:delay=20ms,jitter=5ms,links=n1->n3", 0}} {
		f, err := chaos.Lookup(tc.spec, chaos.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		act, err := f.Start(ctx, r.env, rand.New(rand.NewPCG(11, 1)))
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		t.Log(act.Fault.Detail)
		p := udpProbe(t, r.ns[0], r.echoAddr(2), 1000, 500*time.Microsecond)
		d, err := act.Heal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("healed: %s", d)
		lost := 1 - float64(p.unique)/float64(p.sent)
		t.Logf("%s through the sidecar: %.1f%% lost, round trip median %v, IQR %v", tc.spec, lost*100, median(p.rtt), iqr(p.rtt))
		if tc.loss > 0 && (lost < tc.loss-0.03 || lost > tc.loss+0.03) {
			t.Errorf("%s: %.1f%% lost", tc.spec, lost*100)
		}
		if tc.loss == 0 && p.unique != p.sent {
			t.Errorf("%s lost %d datagrams", tc.spec, p.sent-p.unique)
		}
	}
	assertNoTables(t, nodes)
}
