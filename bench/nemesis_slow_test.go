package bench

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// The faults of issue 17 are refused at plan time, in one line, where the
// machine cannot do them, and accepted where it can.
func TestPrepareRefusesWhatTheMachineCannot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the host checks need root")
	}
	refused := func(t *testing.T, err error, word string) {
		t.Helper()
		var ce *scenario.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), word) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v, want a one-line scenario.ConfigError about %s", err, word)
		}
	}
	sc := scenario.Default()
	sc.Chaos.Nemesis = []string{"slow-io:bps=1MB"}
	_, err := Prepare(sc)
	if runtime.CgroupV2() {
		if err != nil {
			t.Errorf("slow-io on cgroup v2: %v", err)
		}
	} else {
		refused(t, err, "cgroup v2")
	}
	t.Logf("slow-io: %v", err)

	sc = scenario.Default()
	sc.Chaos.Nemesis = []string{"packet:delay=10ms"}
	sc.Cluster.Runtime = pick.Docker
	_, err = Prepare(sc)
	if host := netfault.CheckQueue(); host == nil && err != nil {
		t.Errorf("the kernel can queue packets, yet Prepare says %v", err)
	} else if host != nil {
		refused(t, err, "queue")
	}

	sc = scenario.Default()
	sc.Cluster.Nodes = 3
	sc.Chaos.Nemesis = []string{"packet:links=n1->n5"}
	_, err = Prepare(sc)
	refused(t, err, "5 nodes")
	sc.Chaos.Nemesis = []string{"slow-cpu:quota=20%", "kill:signal=TERM"}
	if _, err = Prepare(sc); err != nil {
		t.Errorf("slow-cpu and kill:signal=TERM: %v", err)
	}
}
