package chaos_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// member-grow on etcd under load: a fresh member joins and leaves twice,
// and the run is valid, with the availability of each fault window in the
// summary. Where it cannot work it is refused in one line, exit 3, before
// anything is launched: a target that cannot change its membership, a
// runtime that cannot add a node.
func TestMemberGrowRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the local runtime's namespaces")
	}
	bin := faultlineBinary(t)
	for _, bad := range [][]string{
		{"--target", "raftkv", "--runtime", "local"},
		{"--target", "etcd", "--runtime", "docker"},
	} {
		cmd := exec.Command(bin, append([]string{"run", "--nemesis", "member-grow", "--duration", "20s", "--dry-run"}, bad...)...)
		b, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 3 || strings.Count(strings.TrimSpace(string(b)), "\n") != 0 || !strings.Contains(string(b), "member-grow") {
			t.Errorf("%v: exit %d, %q; want exit 3 and one line naming member-grow", bad, code, b)
		}
	}

	out := t.TempDir()
	cmd := exec.Command(bin, "run", "--target", "etcd", "--runtime", "local", "--nemesis", "member-grow",
		"--duration", "16s", "--nemesis-interval", "4s", "--rate", "100", "--quiet-period", "2s", "--seed", "11", "--out", out, "-q")
	cmd.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+t.TempDir())
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("faultline run: %v\n%s", err, b)
	}
	m, _ := filepath.Glob(filepath.Join(out, "2*", "summary.json"))
	if len(m) != 1 {
		t.Fatalf("no summary.json in %s", out)
	}
	raw, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Verdict string `json:"verdict"`
		Checks  []struct {
			Checker string `json:"checker"`
			Summary string `json:"summary"`
			Details struct {
				Windows []struct {
					Kind         string  `json:"kind"`
					Ops          int     `json:"ops"`
					Availability float64 `json:"availability"`
				} `json:"windows"`
			} `json:"details"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.Verdict != "valid" {
		t.Errorf("verdict %s, want valid:\n%s", s.Verdict, b)
	}
	windows := 0
	for _, c := range s.Checks {
		if c.Checker != "availability" {
			continue
		}
		t.Logf("availability: %s", c.Summary)
		for _, w := range c.Details.Windows {
			if w.Kind != "member-grow" || w.Ops == 0 {
				t.Errorf("window %+v: want member-grow with operations", w)
			}
			windows++
		}
	}
	if windows != 2 {
		t.Errorf("%d fault windows in the availability check, want 2 (at 4s and 12s)", windows)
	}
	// The fault's own detail, recorded with the run: the fresh member
	// joined and was removed.
	h, _ := os.ReadFile(filepath.Join(filepath.Dir(m[0]), "history.jsonl"))
	if !strings.Contains(string(h), "member n4") || !strings.Contains(string(h), "n4 removed") {
		t.Errorf("history does not say n4 joined and left:\n%s", b)
	}
}
