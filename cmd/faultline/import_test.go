package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// faultline check --import jepsen FILE: a Jepsen history is imported into a
// run directory and checked; the exit code is the verdict (porcupine's
// recorded verdicts: etcd_002 linearizable, etcd_000 not).
func TestCheckImportsJepsenHistories(t *testing.T) {
	logs := filepath.Join(os.Getenv("GOMODCACHE"), "github.com/anishathalye/porcupine@v1.3.1/test_data/jepsen")
	if os.Getenv("GOMODCACHE") == "" {
		out, err := goEnv("GOMODCACHE")
		if err != nil {
			t.Skip("no module cache: ", err)
		}
		logs = filepath.Join(out, "github.com/anishathalye/porcupine@v1.3.1/test_data/jepsen")
	}
	if _, err := os.Stat(filepath.Join(logs, "etcd_000.log")); err != nil {
		t.Skip("porcupine's test data is not in the module cache: ", err)
	}
	out := t.TempDir()
	for _, c := range []struct {
		file string
		code int
	}{{"etcd_002.log", 0}, {"etcd_000.log", 1}} {
		code, stdout, stderr := runCLI("check", "--import", "jepsen", filepath.Join(logs, c.file), "--out", out, "-q")
		if code != c.code || !strings.Contains(stdout, out) {
			t.Errorf("%s: exit %d (want %d)\nstdout %s\nstderr %s", c.file, code, c.code, stdout, stderr)
		}
	}
	elle := filepath.Join("..", "..", "history", "jepsen", "testdata", "elle", "la-g-single.edn")
	if code, _, stderr := runCLI("check", "--import", "jepsen", elle, "--consistency", "serializable", "--out", out, "-q"); code != 1 {
		t.Errorf("a G-single under serializable: exit %d: %s", code, stderr)
	}
	if code, _, _ := runCLI("check", "--import", "jepsen", elle, "--consistency", "read-committed", "--out", out, "-q"); code != 0 {
		t.Errorf("a G-single under read committed (which allows it): exit %d, want 0", code)
	}
	for _, bad := range [][]string{
		{"check", "--import", "nope", elle},
		{"check", "--import", "jepsen", "/no/such/file.edn"},
		{"check", "--import", "jepsen", "--import-format", "xml", elle},
		{"check", "--import-workload", "bank", out},
	} {
		if code, _, stderr := runCLI(bad...); code != 3 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

func goEnv(key string) (string, error) {
	out, err := exec.Command("go", "env", key).Output()
	return strings.TrimSpace(string(out)), err
}
