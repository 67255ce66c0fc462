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
