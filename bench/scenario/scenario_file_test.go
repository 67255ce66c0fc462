package scenario

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileYAMLTimeline(t *testing.T) {
	p := write(t, "s.yaml", `
seed: 42
cluster: {nodes: 5}
load: {duration: 1m, rate: "300"}
chaos:
  quiet: 7s
  timeline:
    - {at: 10s, for: 10s, fault: partition-ring}
    - {at: 25s, for: 2.5, fault: kill}
    - {at: 40s, for: 5s, fault: partition-ring}
`)
	sc := Default()
	seeded, err := LoadFile(p, &sc)
	if err != nil {
		t.Fatal(err)
	}
	if !seeded || sc.Seed != 42 || sc.Cluster.Nodes != 5 || sc.Cluster.Target != "etcd" || sc.Load.Rate != "300" ||
		time.Duration(sc.Load.Duration) != time.Minute || time.Duration(sc.Chaos.Quiet) != 7*time.Second {
		t.Errorf("loaded %+v", sc)
	}
	if got := strings.Join(sc.Chaos.Nemesis, ","); got != "partition-ring,kill" {
		t.Errorf("nemesis from the timeline: %s", got)
	}
	if s := sc.Chaos.Timeline[1]; time.Duration(s.For) != 2500*time.Millisecond || time.Duration(s.At) != 25*time.Second {
		t.Errorf("step 2: %+v", s)
	}
}

// A past run's scenario.json runs again: its run fields are ignored.
func TestLoadFileScenarioJSON(t *testing.T) {
	info := RunInfo{Scenario: Default(), RunID: "abc", GoVersion: "go1"}
	info.Seed = 7
	info.Chaos.Nemesis = []string{"pause", "loss"}
	b, _ := json.Marshal(info)
	sc := Default()
	seeded, err := LoadFile(write(t, "scenario.json", string(b)), &sc)
	if err != nil || !seeded || sc.Seed != 7 || strings.Join(sc.Chaos.Nemesis, ",") != "pause,loss" {
		t.Fatalf("%v seeded=%v %+v", err, seeded, sc)
	}
}

func TestLoadFileRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"unknown.yaml": "clutser: {nodes: 3}\n",
		"syntax.yaml":  "chaos: [\n",
		"types.json":   `{"seed": "many"}`,
	} {
		sc := Default()
		_, err := LoadFile(write(t, name, body), &sc)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ConfigError", name, err)
		}
	}
	sc := Default()
	if _, err := LoadFile(filepath.Join(t.TempDir(), "none.yaml"), &sc); err == nil {
		t.Error("missing file accepted")
	}
	// Without a seed the file does not fix it.
	sc = Default()
	if seeded, err := LoadFile(write(t, "s.yml", "cluster: {nodes: 4}\n"), &sc); err != nil || seeded || sc.Cluster.Nodes != 4 {
		t.Errorf("seeded=%v %v", seeded, err)
	}
}

// A refused file is one line that names the key and its line, with a near
// miss suggested for an unknown key; an empty file is refused, not run as
// the defaults.
func TestLoadFileNamesKeyAndLine(t *testing.T) {
	for body, want := range map[string]string{
		"cluster: {nodes: three}\n":                                  `cluster.nodes (line 1): want an odd integer 1-7, got "three"`,
		"load:\n  rate: [1, 2]\n":                                    "load.rate (line 2): want a rate like 200",
		"cluster:\n  nodse: 3\n":                                     "cluster.nodse (line 2): unknown key (did you mean nodes?)",
		"chaos:\n  timeline:\n    - {at: 1s, for: x, fault: kill}\n": `chaos.timeline[1].for (line 3): want a duration like 30s, got "x"`,
		"":                                 "empty",
		"# nothing\n":                      "empty",
		"42\n":                             "want a mapping of scenario keys",
		"xyzzy: 1\n":                       "xyzzy (line 1): unknown key (known: ",
		"cluster:\n  spec:\n    nmae: x\n": "cluster.spec.nmae (line 3): unknown key (did you mean name?)",
	} {
		sc := Default()
		_, err := LoadFile(write(t, "s.yaml", body), &sc)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line saying %q", body, err, want)
		}
	}
	// YAML scalars fill strings: rate: 300 is the rate "300".
	sc := Default()
	if _, err := LoadFile(write(t, "s.yaml", "load: {rate: 300, duration: 2.5}\n"), &sc); err != nil || sc.Load.Rate != "300" ||
		time.Duration(sc.Load.Duration) != 2500*time.Millisecond {
		t.Errorf("%v: rate %q duration %v", err, sc.Load.Rate, sc.Load.Duration)
	}
}

// Every example scenario shipped in examples/ loads.
func TestExamplesLoad(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/*.y*ml")
	if len(paths) == 0 {
		t.Fatal("no examples")
	}
	for _, p := range paths {
		sc := Default()
		if _, err := LoadFile(p, &sc); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
