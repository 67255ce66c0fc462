package etcd

import (
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// The read mode is a target option (--target-opt read-mode=...), as
// raftkv's bug is; --read-mode says the same, the final phase always reads
// linearizably, and contradictions are refused.
func TestReadModeOption(t *testing.T) {
	serializable := func(c targets.Client) bool {
		var tg vegeta.Target
		if err := targets.ForLoad(c).Request(&history.Event{F: history.FRead, Key: "k", ID: 1}, "http://x", &tg); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(tg.Body), "serializable")
	}
	tg, err := NewWithOptions(map[string]string{"read-mode": Serializable})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg  targets.ClientConfig
		want bool
	}{
		{targets.ClientConfig{}, true},
		{targets.ClientConfig{ReadMode: Serializable}, true},
		{targets.ClientConfig{Final: true}, false},
	} {
		cl, err := tg.Client(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if serializable(cl) != c.want {
			t.Errorf("%+v: serializable = %v", c.cfg, !c.want)
		}
	}
	if _, err := tg.Client(targets.ClientConfig{ReadMode: Linearizable}); err == nil {
		t.Error("--read-mode linearizable with read-mode=serializable accepted")
	}
	for _, opts := range []map[string]string{{"read-mode": "stale"}, {"bug": "x"}} {
		if _, err := NewWithOptions(opts); err == nil {
			t.Errorf("%v accepted", opts)
		}
	}
}

// flags= reaches every member's command line, after Faultline's own (etcd
// takes the last of a repeated flag); initial-cluster-state chooses how
// members start; flags Faultline owns are refused.
func TestFlagsAndClusterState(t *testing.T) {
	tg, err := NewWithOptions(map[string]string{"flags": "--snapshot-count=100  --experimental-initial-corrupt-check=true", "initial-cluster-state": "existing"})
	if err != nil {
		t.Fatal(err)
	}
	peers := []targets.Peer{{Name: "n1", Host: "h1", Ports: map[string]int{targets.ClientPort: 1, "peer": 2}, DataDir: "/d"}}
	args := tg.Node(0, peers).Args
	got := strings.Join(args, " ")
	if !strings.HasSuffix(got, " --snapshot-count=100 --experimental-initial-corrupt-check=true") {
		t.Errorf("flags not appended last: %s", got)
	}
	if !strings.Contains(got, "--initial-cluster-state existing") {
		t.Errorf("initial-cluster-state not applied: %s", got)
	}
	if def := strings.Join(New().Node(0, peers).Args, " "); !strings.Contains(def, "--initial-cluster-state new") {
		t.Errorf("default is not a new cluster: %s", def)
	}
	for _, opts := range []map[string]string{
		{"flags": "--data-dir=/tmp/x"}, {"flags": "snapshot-count=1"}, {"initial-cluster-state": "joined"}, {"failpoints": "maybe"},
	} {
		if _, err := NewWithOptions(opts); err == nil {
			t.Errorf("%v accepted", opts)
		}
	}
}

// Each release line builds from its own module: 3.4 from go.etcd.io/etcd
// (etcdmain.Main()), 3.5 and later from go.etcd.io/etcd/server/v3.
func TestReleaseLineSource(t *testing.T) {
	for v, want := range map[string]string{
		"v3.4.27": module34, "v0.5.0-alpha.5.0.20200910180754-dd1b699fc489": module34,
		"v3.5.2": module, "v3.6.0": module, "v3.7.3": module, "": module,
	} {
		if m, main := source(v); m != want || !strings.Contains(main, strings.TrimSuffix(m, "/server/v3")) {
			t.Errorf("%s: module %s (want %s), main %q", v, m, want, main)
		}
	}
}
