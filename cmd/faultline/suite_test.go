package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/suite"
)

// A bad suite, or a bad flag, is one line and exit 3 before anything runs:
// no output directory is created.
func TestSuiteBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nentries:\n  - {name: a, target: raftkv, nemesis: earthquake, expect: valid}\n"), 0o644)
	noExpect := filepath.Join(dir, "noexpect.yaml")
	os.WriteFile(noExpect, []byte("name: x\nentries:\n  - {name: a, target: raftkv}\n"), 0o644)
	for _, args := range [][]string{
		{"--suite", bad},
		{"--suite", noExpect},
		{"--suite", filepath.Join(dir, "nosuch.yaml")},
		{"--only", "nothing-matches-*"},
		{"--only", "["},
		{"--frobnicate"},
		{"extra"},
	} {
		out := filepath.Join(dir, "results")
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"suite", "--out", out}, args...), &stdout, &stderr)
		msg := strings.TrimSpace(stderr.String())
		if code != 3 || msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%v: exit %d, stderr %q; want 3 and one line", args, code, msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created %s although the input was bad", args, out)
		}
	}
}

func TestSuiteListAndPrint(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"suite", "--list", "--seed", "3", "--only", "naive-paxos-*,etcd-serializable-partition"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "etcd-serializable-partition") || !strings.Contains(lines[0], "serializable reads") ||
		!strings.Contains(lines[2], "naive-paxos-partition") || !strings.Contains(lines[2], "expect invalid") {
		t.Errorf("--list:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"suite", "--print"}, &stdout, &stderr); code != 0 || !bytes.Equal(stdout.Bytes(), suite.DefaultYAML()) {
		t.Errorf("--print: exit %d, %d bytes", code, stdout.Len())
	}
}

// TestSuiteEndToEnd runs `faultline suite` on a one-entry suite in Docker
// whose expectation is wrong on purpose (naive-paxos under partition is
// invalid; the suite says valid): one line for the run, the tally, exit 1,
// and an index and suite.json that show the mismatch with expected beside
// actual.
func TestSuiteEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	os.WriteFile(file, []byte(`
name: wrong-on-purpose
defaults:
  load: {duration: 6s, rate: 150}
  chaos: {interval: 2s, quiet: 1s}
entries:
  - name: naive-paxos-partition
    target: naive-paxos
    nemesis: partition
    seed: 1
    expect: valid
    note: wrong on purpose
`), 0o644)
	out := filepath.Join(dir, "results")
	var stdout, stderr bytes.Buffer
	code := run([]string{"suite", "--suite", file, "--out", out}, &stdout, &stderr)
	t.Logf("stdout:\n%s", stdout.String())
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a run did not match); stderr:\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "MISMATCH") || !strings.Contains(lines[0], "expected valid") ||
		!strings.Contains(lines[0], "got invalid") || !strings.Contains(lines[1], "0 of 1 runs as expected") || !strings.Contains(lines[1], "wall time") {
		t.Errorf("output:\n%s", stdout.String())
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Error("a progress line was drawn although stderr is not a terminal")
	}
	html, err := os.ReadFile(filepath.Join(out, suite.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`class="mismatch"`, `<span class="verdict valid">valid</span>`, `<span class="verdict invalid">invalid</span>`, "wrong on purpose", "wall time"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	var sj struct {
		Matched int `json:"matched"`
		Exit    int `json:"exit_code"`
		Runs    []struct {
			Status, Verdict, Dir string
		} `json:"runs"`
	}
	b, _ := os.ReadFile(filepath.Join(out, suite.JSONFile))
	if err := json.Unmarshal(b, &sj); err != nil || sj.Matched != 0 || sj.Exit != 1 || len(sj.Runs) != 1 ||
		sj.Runs[0].Status != "mismatch" || sj.Runs[0].Verdict != "invalid" {
		t.Errorf("suite.json: %v %s", err, b)
	}
	if len(sj.Runs) == 1 {
		if _, err := os.Stat(filepath.Join(sj.Runs[0].Dir, "report.html")); err != nil {
			t.Errorf("the run's own report: %v", err)
		}
	}
}

// --reindex runs nothing: without a suite.json in --out it says so, exit 4.
func TestSuiteReindexNeedsSuiteJSON(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"suite", "--suite", filepath.Join("..", "..", "suite", "systems.yaml"), "--out", out, "--reindex"}, &stdout, &stderr)
	if code != 4 || !strings.Contains(stderr.String(), "suite.json") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("--reindex wrote %d files into an empty --out", len(entries))
	}
}
