package jepsen_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history/jepsen"
)

// elleCase is one line of testdata/elle-cli/verdicts.tsv.
type elleCase struct {
	name, options, valid, source, note string
	anomalies                          []string
}

func readVerdicts(t *testing.T, path string) []elleCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []elleCase
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if header {
			header = false
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) < 5 {
			t.Fatalf("%s: %q: want 5 or 6 tab-separated columns", path, line)
		}
		c := elleCase{name: col[0], options: col[1], valid: col[2], source: col[4]}
		if len(col) > 5 {
			c.note = col[5]
		}
		if col[3] != "-" {
			c.anomalies = strings.Split(col[3], ",")
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// unsupported names the Elle options Faultline has no counterpart of: a
// case that needs one is not accepted (its verdict depends on inference
// Faultline does not make, or on knowledge it is not given).
var unsupported = map[string]string{
	"sequential-keys":   "Elle's :sequential-keys? (a version order from each process's order) has no Faultline counterpart",
	"transaction-order": "Elle's :transaction-order (an external commit order) has no Faultline counterpart",
}

// TestElleAgreement checks every history of testdata/elle-cli (elle-cli's
// test data, verdicts in verdicts.tsv) with the checker `faultline check
// --import jepsen` runs, with the options an import writes into
// scenario.json, and requires Faultline's verdict to be Elle's on every
// case it accepts. Not accepted: cases that need an Elle option Faultline
// does not have, cases Elle left undecided (valid? unknown), and histories
// Faultline itself calls unknown. The tally is logged.
func TestElleAgreement(t *testing.T) {
	dir := filepath.Join("testdata", "elle-cli")
	cases := readVerdicts(t, filepath.Join(dir, "verdicts.tsv"))
	if len(cases) < 25 {
		t.Fatalf("%d cases in verdicts.tsv, want at least 25", len(cases))
	}
	var agree, disagree []string
	notAccepted := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The workload is elle-cli's --model, which the case's name
			// starts with (a lone read of nil fits either).
			w := jepsen.ListAppend
			if strings.HasPrefix(c.name, "rw-register") {
				w = jepsen.RWRegister
			}
			events, _, err := jepsen.ReadFile(filepath.Join(dir, c.name+".json"), jepsen.WithWorkload(w))
			if err != nil {
				t.Fatal(err)
			}
			opts := jepsen.CheckOptions()
			if c.options != "-" {
				if why, ok := unsupported[c.options]; ok {
					notAccepted[c.name] = why
					t.Skip(why)
				}
				switch c.options {
				case "linearizable-keys":
					opts["linearizable-keys"] = "true"
				case "wfr-keys":
					opts["writes-follow-reads"] = "true"
				default:
					t.Fatalf("options %q: not known to this test", c.options)
				}
			}
			if c.valid == "unknown" {
				notAccepted[c.name] = "Elle left it undecided (valid? unknown: " + strings.Join(c.anomalies, ", ") + ")"
				t.Skip(notAccepted[c.name])
			}
			chk, err := checkers.Lookup("elle-"+string(w), checkers.Config{Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			r := chk.Check(context.Background(), checkers.NewInput(events, ""))
			found := anomalies(&r)
			if r.Verdict == checkers.Unknown {
				notAccepted[c.name] = "Faultline: unknown: " + r.Summary
				t.Skip(notAccepted[c.name])
			}
			want := checkers.Invalid
			if c.valid == "true" {
				want = checkers.Valid
			}
			if r.Verdict != want {
				disagree = append(disagree, c.name)
				t.Errorf("Elle (%s): valid? %s %v; Faultline: %s %v: %s", c.source, c.valid, c.anomalies, r.Verdict, found, r.Summary)
				return
			}
			agree = append(agree, c.name)
			t.Logf("agree: %s %v (Elle %v)", r.Verdict, found, c.anomalies)
		})
	}
	slices.Sort(disagree)
	t.Logf("agreement with Elle on elle-cli's test data: %d cases, %d agree, %d disagree %v, %d not accepted",
		len(cases), len(agree), len(disagree), disagree, len(notAccepted))
	for _, n := range slices.Sorted(mapsKeys(notAccepted)) {
		t.Logf("not accepted: %s: %s", n, notAccepted[n])
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
