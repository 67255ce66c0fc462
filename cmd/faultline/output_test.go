package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers/synth"
)

// --output json prints the verdict as one object that scripts can read.
func TestOutputJSON(t *testing.T) {
	for anomaly, want := range map[synth.Anomaly]struct {
		verdict string
		code    int
	}{synth.None: {"valid", 0}, synth.StaleRead: {"invalid", 1}} {
		dir := runDir(t, anomaly)
		code, out, errs := check(t, dir, "--output", "json")
		if code != want.code || errs != "" || strings.Count(out, "\n") != 1 {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		var v verdictJSON
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if v.Verdict != want.verdict || v.ExitCode != want.code || v.Dir != dir || v.Counts.Total == 0 || v.Counts.OK == 0 ||
			v.OKPerS <= 0 || v.P99MS <= 0 || v.Checks["linearizable"] != want.verdict {
			t.Errorf("%+v", v)
		}
		if want.code == 1 && (len(v.Failed) == 0 || v.Failed[0] != "linearizable") {
			t.Errorf("failed: %v", v.Failed)
		}
	}
}

// The completion script of each shell is printed, and bash's sources
// cleanly and completes the commands.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"completion", sh}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "faultline") {
			t.Errorf("completion %s: exit %d, %d bytes, %s", sh, code, stdout.Len(), stderr.String())
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here to source the script in")
	}
	var script bytes.Buffer
	run([]string{"completion", "bash"}, &script, &bytes.Buffer{})
	file := filepath.Join(t.TempDir(), "faultline.bash")
	os.WriteFile(file, script.Bytes(), 0o644)
	out, err := exec.Command(bash, "-c", "set -e; source "+file+"; complete -p faultline").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "faultline") {
		t.Errorf("sourcing the bash completion: %v\n%s", err, out)
	}
	// Cobra's hidden __complete command answers what the script asks.
	var stdout bytes.Buffer
	run([]string{"__complete", "cl"}, &stdout, &bytes.Buffer{})
	if !strings.Contains(stdout.String(), "cluster") || !strings.Contains(stdout.String(), "clean") {
		t.Errorf("__complete cl: %q", stdout.String())
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "faultline ") {
		t.Errorf("exit %d: %q %q", code, stdout.String(), stderr.String())
	}
}
