package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Faults that cannot work here are refused in one line with exit 3, before
// anything is launched.
func TestFaultsRefusedBeforeLaunching(t *testing.T) {
	dir := t.TempDir()
	overlap := filepath.Join(dir, "overlap.yaml")
	os.WriteFile(overlap, []byte("chaos:\n  timeline:\n    - {at: 1s, for: 5s, fault: kill}\n    - {at: 2s, for: 1s, fault: pause}\n"), 0o644)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("chaos: {nemessis: [kill]}\n"), 0o644)
	timeline := filepath.Join(dir, "timeline.json")
	os.WriteFile(timeline, []byte(`{"chaos": {"timeline": [{"at": "1s", "for": "1s", "fault": "kill"}]}}`), 0o644)
	cases := [][]string{
		{"run", "--nemesis", "partition-ring"},                   // 3 nodes
		{"run", "--nemesis", "partition-bridge", "--nodes", "2"}, // 2 nodes
		{"run", "--firewall", "iptables"},
		{"run", "--nemesis", "loss", "--loss-percent", "0"},
		{"run", "--quiet-period", "-1s"},
		{"run", "--scenario", overlap},
		{"run", "--scenario=" + typo},
		{"run", "--scenario", filepath.Join(dir, "missing.yaml")},
		{"run", "--scenario", timeline, "--nemesis", "pause"},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, []string{"run", "--nemesis", "delay"}) // this kernel has no netem; checked, not assumed
	}
	for _, args := range cases {
		out := filepath.Join(t.TempDir(), "results")
		var stdout, stderr bytes.Buffer
		code := run(append(args, "--out", out), &stdout, &stderr)
		msg := strings.TrimSpace(stderr.String())
		if code != 3 {
			if strings.Contains(strings.Join(args, " "), "delay") && code == 0 {
				continue // a kernel with netem
			}
			t.Errorf("%v: exit %d, want 3 (stderr %q)", args, code, msg)
		}
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%v: want one line of error, got %q", args, msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created %s although the input was bad", args, out)
		}
		t.Logf("%v: %s", args[1:], msg)
	}
}

// The scenario file is read first and the flags override it, wherever they
// stand and however they are spelled (-scenario=f, --scenario f, -f f).
func TestScenarioFileThenFlags(t *testing.T) {
	dir := t.TempDir()
	four := filepath.Join(dir, "four.yaml")
	os.WriteFile(four, []byte("cluster: {nodes: 4}\n"), 0o644)
	for args, want := range map[string]string{
		"run --scenario F":             "cluster.nodes (line 1 of four.yaml) 4",
		"run -scenario=F":              "cluster.nodes (line 1 of four.yaml) 4",
		"run -f F --seed 3":            "cluster.nodes (line 1 of four.yaml) 4",
		"run --nodes 6 --scenario F":   "--nodes 6",
		"run --scenario F --nodes=8":   "--nodes 8",
		"cluster up --scenario F":      "cluster.nodes (line 1 of four.yaml) 4",
		"cluster up -n 6 --scenario F": "--nodes 6",
	} {
		argv := strings.Fields(strings.ReplaceAll(args, "F", four))
		out := filepath.Join(t.TempDir(), "results")
		if argv[0] == "run" {
			argv = append(argv, "--out", out)
		}
		var stdout, stderr bytes.Buffer
		code := run(argv, &stdout, &stderr)
		if code != 3 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want 3 naming %s (the file's key, or the flag that overrides it)", args, code, stderr.String(), want)
		}
	}
}
