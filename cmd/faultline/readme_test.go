package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers/synth"
	"github.com/faultline/faultline/suite"
)

// faultlineCmd finds a faultline command in a line of the README: in a
// code block or an inline code span, run as bin/faultline, go run or
// faultline.
var faultlineCmd = regexp.MustCompile("(?:bin/|go run \\./cmd/)?faultline ((?:run|suite|check|compare|serve|cluster|clean|version|completion|help)\\b[^`)\\n]*)")

// The README's own commands run as written: those that need no cluster
// run for real, the others are dry runs (--dry-run validates everything,
// the target's version included, and launches nothing). Placeholders such
// as results/<run> and <id> are filled in.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runA, runB := runDir(t, synth.None), runDir(t, synth.None)
	check(t, "-q", runA)
	check(t, "-q", runB)
	mySuite := filepath.Join(dir, "my.yaml")
	os.WriteFile(mySuite, suite.DefaultYAML(), 0o644)
	files := map[string]string{"my.yaml": mySuite, "examples/raftkv.yaml": filepath.Join("..", "..", "examples", "raftkv.yaml"), "examples/redis-debian.yaml": filepath.Join("..", "..", "examples", "redis-debian.yaml"),
		"suite/systems.yaml": filepath.Join("..", "..", "suite", "systems.yaml")}
	out := filepath.Join(dir, "results")
	// A results directory whose latest run is a stored one.
	results := filepath.Join(dir, "stored")
	os.MkdirAll(results, 0o755)
	os.Rename(runDir(t, synth.None), filepath.Join(results, "r1"))
	os.Symlink("r1", filepath.Join(results, "latest"))

	var cmds []string
	inBlock, block, blockCmd := false, []string{}, ""
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "```") {
			if inBlock && blockCmd != "" {
				// A YAML block headed "# faultline run --scenario x.yaml" is x.yaml.
				if m := regexp.MustCompile(`--scenario (\S+)`).FindStringSubmatch(blockCmd); m != nil {
					p := filepath.Join(dir, filepath.Base(m[1]))
					os.WriteFile(p, []byte(strings.Join(block, "\n")+"\n"), 0o644)
					files[m[1]] = p
				}
			}
			inBlock, block, blockCmd = !inBlock, nil, ""
			continue
		}
		if inBlock {
			block = append(block, line)
		}
		for _, m := range faultlineCmd.FindAllStringSubmatch(line, -1) {
			c := m[1]
			if inBlock {
				if i := strings.Index(c, " # "); i >= 0 {
					c = c[:i] // a shell comment
				}
				if strings.HasPrefix(strings.TrimSpace(line), "# faultline") && len(block) == 1 {
					blockCmd = c
				}
			}
			cmds = append(cmds, strings.TrimSpace(c))
		}
	}
	if len(cmds) < 15 {
		t.Fatalf("found only %d commands in README.md: %q", len(cmds), cmds)
	}
	ran := map[string]bool{}
	for _, c := range cmds {
		args := shellWords(c)
		var argv []string
		for i := 0; i < len(args); i++ {
			a := strings.Trim(args[i], "[]")
			prev := ""
			if len(argv) > 0 {
				prev = argv[len(argv)-1]
			}
			switch {
			case a == "..." || a == "":
				continue
			case a == "results/<run>" || a == "results/<a>":
				a = runA
			case a == "results/<b>":
				a = runB
			case a == "<id>":
				a = "0badc0de"
			case prev == "--out" && argv[0] == "compare":
				a = filepath.Join(dir, "compare", a)
			case prev == "--out":
				a = filepath.Join(out, a)
			case prev == "--check-timeout" && a == "d":
				a = "5m"
			case prev == "--check-memory-mb" && a == "n":
				a = "1024"
			case prev == "--threshold" && a == "t":
				a = "p99 < 1h"
			case prev == "--seed" && a == "N":
				a = "7"
			case a == "results/" && len(argv) > 0 && argv[0] == "serve":
				a = results
			case files[a] != "":
				a = files[a]
			}
			if strings.ContainsAny(a, "<>") && prev != "--threshold" {
				t.Errorf("%q: placeholder %s left unfilled", c, a)
			}
			argv = append(argv, a)
		}
		// A mention of a command that needs an argument is no example.
		if len(argv) == 1 && slices.Contains([]string{"check", "compare", "serve"}, argv[0]) {
			continue
		}
		cmdline := strings.Join(argv, " ")
		noCluster := argv[0] == "check" || argv[0] == "compare" || argv[0] == "version" || argv[0] == "completion" ||
			argv[0] == "help" || (argv[0] == "cluster" && len(argv) > 1 && argv[1] == "ls") ||
			slices.Contains(argv, "-h") || slices.Contains(argv, "--help") || slices.Contains(argv, "--list") || slices.Contains(argv, "--print")
		if !noCluster {
			argv = append(argv, "--dry-run")
		}
		if ran[strings.Join(argv, "\x00")] {
			continue
		}
		ran[strings.Join(argv, "\x00")] = true
		var stdout, stderr bytes.Buffer
		code := run(argv, &stdout, &stderr)
		t.Logf("faultline %s -> exit %d", strings.Join(argv, " "), code)
		if code != 0 {
			t.Errorf("README: faultline %s: exit %d\n%s%s", cmdline, code, stdout.String(), stderr.String())
		}
	}
	if _, err := os.Stat(out); err == nil && len(must(os.ReadDir(out))) > 0 {
		t.Errorf("a dry run wrote under %s", out)
	}
}

func must[T any](v T, _ error) T { return v }

// shellWords splits a command line as sh would, for the quoting the README
// uses ('...' and "...").
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in || cur.Len() > 0 {
				words = append(words, cur.String())
			}
			cur.Reset()
			in = false
		default:
			cur.WriteRune(r)
		}
	}
	if in || cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}
