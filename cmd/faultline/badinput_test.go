package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every bad input is exit 3 and one line that names the flag, or the
// scenario key and its line, and nothing is built or launched: not even the
// output directory appears. (TestBadInputExitsThreeBeforeLaunching,
// TestFaultsRefusedBeforeLaunching and TestSuiteBadInput hold more.)
func TestBadInputTable(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"empty.yaml":      "",
		"comments.yaml":   "# a scenario\n\n   # nothing else\n",
		"three.yaml":      "cluster: {nodes: three}\n",
		"typo.yaml":       "clutser:\n  nodes: 3\n",
		"nemessis.yaml":   "chaos:\n  nemessis: [kill]\n",
		"list.yaml":       "- cluster\n- load\n",
		"durtype.yaml":    "load:\n  duration: soon\n",
		"seedneg.yaml":    "seed: -4\n",
		"boolint.yaml":    "chaos:\n  final_reads: 3\n",
		"nodes4.yaml":     "# four\ncluster:\n  nodes: 4\n",
		"nemstr.yaml":     "chaos:\n  nemesis: {kill: yes}\n",
		"stepkey.yaml":    "chaos:\n  timeline:\n    - {at: 1s, for: 1s, fault: kill}\n    - {at: 5s, fro: 1s, fault: kill}\n",
		"stepat.yaml":     "chaos:\n  timeline:\n    - {at: later, for: 1s, fault: kill}\n",
		"syntax.yaml":     "cluster: {nodes: 3\n",
		"json.json":       "{\"cluster\": {\"nodes\": \"three\"}}",
		"jsonkey.json":    "{\n  \"laod\": {}\n}",
		"options.yaml":    "cluster:\n  options: [bug]\n",
		"durfile.yaml":    "load:\n  duration: -5s\n",
		"unknownnem.yaml": "chaos:\n  nemesis: [earthquake]\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		args []string
		want string // the line names this
	}{
		// The four of the issue.
		{[]string{"run", "--version", "v99.99.99-nope"}, "nearby: v3."},
		{[]string{"run", "--scenario", f("empty.yaml")}, "empty"},
		{[]string{"run", "--scenario", f("three.yaml")}, `cluster.nodes (line 1): want an odd integer 1-7, got "three"`},
		{[]string{"compare", "--out"}, "--out: needs a value"},
		// Scenario files.
		{[]string{"run", "-f", f("comments.yaml")}, "only comments"},
		{[]string{"run", "-f", f("typo.yaml")}, "clutser (line 1): unknown key (did you mean cluster?)"},
		{[]string{"run", "-f", f("nemessis.yaml")}, "chaos.nemessis (line 2): unknown key (did you mean nemesis?)"},
		{[]string{"run", "-f", f("list.yaml")}, "(line 1): want a mapping of scenario keys"},
		{[]string{"run", "-f", f("durtype.yaml")}, `load.duration (line 2): want a duration like 30s, got "soon"`},
		{[]string{"run", "-f", f("seedneg.yaml")}, "seed (line 1): want a non-negative integer, got -4"},
		{[]string{"run", "-f", f("boolint.yaml")}, "chaos.final_reads (line 2): want true or false, got 3"},
		{[]string{"run", "-f", f("nodes4.yaml")}, "cluster.nodes (line 3 of nodes4.yaml) 4: a cluster has an odd number"},
		{[]string{"cluster", "up", "-f", f("nodes4.yaml")}, "cluster.nodes (line 3 of nodes4.yaml)"},
		{[]string{"run", "-f", f("nemstr.yaml")}, "chaos.nemesis (line 2): want a list of fault names"},
		{[]string{"run", "-f", f("stepkey.yaml")}, "chaos.timeline[2].fro (line 4): unknown key (did you mean for?)"},
		{[]string{"run", "-f", f("stepat.yaml")}, `chaos.timeline[1].at (line 3): want a duration like 30s, got "later"`},
		{[]string{"run", "-f", f("syntax.yaml")}, "syntax.yaml"},
		{[]string{"run", "-f", f("json.json")}, `cluster.nodes (line 1): want an odd integer 1-7, got "three"`},
		{[]string{"run", "-f", f("jsonkey.json")}, "laod (line 2): unknown key (did you mean load?)"},
		{[]string{"run", "-f", f("options.yaml")}, "cluster.options (line 2): want a mapping like {bug: stale-reads}"},
		{[]string{"run", "-f", f("durfile.yaml")}, "load.duration (line 2 of durfile.yaml) -5s: must be positive"},
		{[]string{"run", "-f", f("unknownnem.yaml")}, "earthquake"},
		{[]string{"run", "-f", f("missing.yaml")}, "missing.yaml"},
		// Flags: types, values, names.
		{[]string{"run", "--nodes", "three"}, `--nodes: want an integer, got "three"`},
		{[]string{"run", "--nodes=4"}, "--nodes 4"},
		{[]string{"run", "-n", "9"}, "--nodes 9"},
		{[]string{"run", "--duration", "5"}, `--duration: want a duration like 30s, got "5"`},
		{[]string{"run", "--seed", "-1"}, `--seed: want a non-negative integer, got "-1"`},
		{[]string{"run", "--final-reads=maybe"}, `--final-reads: want true or false, got "maybe"`},
		{[]string{"run", "--target-opt", "bug"}, `--target-opt: want key=value, got "bug"`},
		{[]string{"run", "--output", "yaml"}, `--output: want text or json, got "yaml"`},
		{[]string{"run", "--nodse", "3"}, "unknown flag --nodse for \"faultline run\" (did you mean --nodes?)"},
		{[]string{"run", "--nemesis-intreval", "3s"}, "did you mean --nemesis-interval?"},
		{[]string{"run", "-z"}, "unknown flag -z"},
		{[]string{"run", "--rate", "ramp:5"}, "--rate"},
		{[]string{"run", "--workload", "queues"}, `--workload "queues"`},
		{[]string{"run", "--mix", "read:50,frobnicate:50"}, "--mix"},
		{[]string{"run", "--key-dist", "gaussian"}, "gaussian"},
		{[]string{"run", "--max-in-flight", "0"}, "--max-in-flight 0"},
		{[]string{"run", "--timeout", "0s"}, "--timeout 0s"},
		{[]string{"run", "--check-timeout", "0s"}, "--check-timeout"},
		{[]string{"run", "--threshold", "p42 < 1s"}, "--threshold"},
		{[]string{"run", "--target", "etdc"}, "etdc"},
		{[]string{"run", "--version", "3.5.16"}, "did you mean v3.5.16?"},
		{[]string{"run", "--target", "raftkv", "--version", "v1.0.0"}, "raftkv is built from this repository's source"},
		{[]string{"run", "--health-timeout", "0s"}, "health timeout"},
		{[]string{"run", "--netns", "maybe"}, "netns"},
		// Flags that contradict each other, or have nothing to act on.
		{[]string{"run", "--bug", "stale-reads", "--target-opt", "bug=non-atomic-cas", "--target", "raftkv"}, "--bug stale-reads and --target-opt bug=non-atomic-cas contradict"},
		{[]string{"run", "--workload", "kv", "--keys", "4"}, "--keys applies to --workload register"},
		{[]string{"run", "--key-space", "100"}, "--key-space applies to --workload kv"},
		{[]string{"run", "--final-reads=false", "--final-timeout", "5s"}, "--final-timeout with --final-reads=false"},
		{[]string{"run", "--nemesis", "none", "--nemesis-interval", "5s"}, "--nemesis-interval with --nemesis none"},
		{[]string{"run", "--loss-percent", "50"}, "--loss-percent 50: --nemesis has no loss fault"},
		{[]string{"run", "--delay", "50ms", "--nemesis", "kill"}, "--delay/--jitter"},
		{[]string{"clean", "--run", "x", "--all"}, "clean needs --run"},
		{[]string{"run", "--serve", "a:b:c"}, "--serve a:b:c: want [host]:port"},
		{[]string{"serve", dir}, "is not a run directory"},
		{[]string{"serve", "--addr", "a:b:c", dir}, "is not a run directory"},
		// Arguments.
		{[]string{"check", "a", "b"}, "check wants one run directory"},
		{[]string{"check", filepath.Join(dir, "nosuch")}, "nosuch"},
		{[]string{"run", "results/x"}, `unexpected argument "results/x"`},
		{[]string{"compare"}, "compare wants one or more run directories"},
		{[]string{"serve"}, "serve wants one run directory"},
		{[]string{"cluster", "sideways"}, `unknown cluster command "sideways"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"completion", "tcsh"}, "tcsh"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "results")
		args := c.args
		if args[0] == "run" {
			// --dry-run: an input this test wrongly thinks bad is a
			// plan printed, never a run launched.
			args = append(args, "--out", out, "--dry-run")
		}
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		msg := strings.TrimSpace(stderr.String())
		if code != 3 {
			t.Errorf("%v: exit %d, want 3 (stderr %q)", c.args, code, msg)
			continue
		}
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%v: want one line, got %q", c.args, msg)
		}
		if !strings.Contains(msg, c.want) {
			t.Errorf("%v: %q does not say %q", c.args, msg, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created %s although the input was bad", c.args, out)
		}
	}
}
