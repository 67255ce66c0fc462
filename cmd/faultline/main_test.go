package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input gets one clear line and exit 3, and nothing is launched: not even
// the output directory is created.
func TestBadInputExitsThreeBeforeLaunching(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--rate", "-5"},
		{"run", "--rate", "fast"},
		{"run", "--target", "nosuch"},
		{"run", "--nodes", "0"},
		{"run", "--nodes", "2"},
		{"run", "--nodes", "9"},
		{"run", "--netns", "sometimes"},
		{"cluster", "up", "--nodes", "2"},
		{"cluster", "up", "--runtime", "podman-nope"},
		{"cluster", "sideways"},
		{"clean"},
		{"clean", "--run", "x", "--all"},
		{"run", "--nodes", "1", "--nemesis", "partition"},
		{"run", "--nemesis", "earthquake"},
		{"run", "--duration", "-1s"},
		{"run", "--duration", "10s"}, // the first fault would be due as the load ends
		{"run", "--duration", "20s", "--nemesis-interval", "30s"},
		{"run", "--read-mode", "psychic"},
		{"run", "--runtime", "podman-nope"},
		{"run", "--no-such-flag"},
		{"run", "extra-arg"},
		{"frobnicate"},
		{"check"},
	} {
		out := filepath.Join(t.TempDir(), "results")
		var stdout, stderr bytes.Buffer
		if args[0] == "run" {
			args = append(args, "--out", out)
		}
		code := run(args, &stdout, &stderr)
		if code != 3 {
			t.Errorf("%v: exit %d, want 3 (stderr %q)", args, code, stderr.String())
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" || strings.Count(msg, "\n") > 0 {
			t.Errorf("%v: want one line of error, got %q", args, msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created %s although the input was bad", args, out)
		}
	}
}
