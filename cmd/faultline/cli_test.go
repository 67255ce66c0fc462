package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers/synth"
)

// Flags go before or after the arguments, as --flag=value or --flag value,
// and the old single-dash spelling still works.
func TestFlagsAnywhere(t *testing.T) {
	a, b := runDir(t, synth.None), runDir(t, synth.None)
	for _, args := range [][]string{
		{a, "--check-timeout", "5s", "--quiet"},
		{"--check-timeout=5s", a, "-q"},
		{"-check-timeout", "5s", a, "-quiet"},
	} {
		if code, out, errs := check(t, args...); code != 0 || !strings.HasPrefix(out, "valid:") {
			t.Errorf("check %v: exit %d, %q %q", args, code, out, errs)
		}
	}
	check(t, "-q", b)
	cmp := filepath.Join(t.TempDir(), "cmp")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"compare", a, b, "--out", cmp, "--title", "two runs"}, &stdout, &stderr); code != 0 {
		t.Fatalf("compare: exit %d, %s %s", code, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "missing") || strings.Count(stdout.String(), "\n") != 3 {
		t.Errorf("compare took its flags for run directories:\n%s", stdout.String())
	}
	if html, err := os.ReadFile(filepath.Join(cmp, "index.html")); err != nil || !strings.Contains(string(html), "two runs") {
		t.Errorf("comparison not under --out: %v", err)
	}
}

// Help is grouped by concern and shows examples.
func TestHelpGroupsAndExamples(t *testing.T) {
	for cmd, groups := range map[string][]string{
		"run":        {"Scenario flags:", "Cluster flags:", "Load flags:", "Faults flags:", "Checks flags:", "Output flags:", "Examples:"},
		"check":      {"Checks flags:", "Output flags:", "Examples:"},
		"cluster up": {"Cluster flags:", "Examples:"},
		"suite":      {"Suite flags:", "Output flags:", "Examples:"},
		"compare":    {"Output flags:", "Examples:"},
		"clean":      {"Examples:"},
	} {
		var stdout, stderr bytes.Buffer
		args := append(strings.Fields(cmd), "--help")
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("%s --help: exit %d", cmd, code)
		}
		for _, g := range groups {
			if !strings.Contains(stdout.String(), g) {
				t.Errorf("%s --help lacks %q:\n%s", cmd, g, stdout.String())
			}
		}
	}
}
