package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// writeRun stores the fixed history and its summary (verdict invalid: a
// stale read) as a run directory.
func writeRun(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fixedHistory() {
		w.Append(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummary(dir, fixedSummary()); err != nil {
		t.Fatal(err)
	}
}

// A suite's "either" expectation (several verdicts joined by "|") matches
// any of them and is shown as such; a verdict outside the expectation is
// marked; notes and the page's note are shown.
func TestCompareExpectations(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeRun(t, a)
	writeRun(t, b)
	out := filepath.Join(root, "index")
	page, err := Compare(out, "suite", []CompareEntry{
		{Dir: a, Label: "either-run", Expected: "valid|invalid", Note: "may or may not read stale"},
		{Dir: b, Label: "valid-run", Expected: "valid"},
	}, WithNote("12 runs in 9m41s"))
	if err != nil {
		t.Fatal(err)
	}
	if page.Mismatch != 1 || !page.Rows[0].Match || page.Rows[1].Match {
		t.Fatalf("mismatch %d, rows %+v", page.Mismatch, page.Rows)
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<span class="verdict valid">valid</span> or <span class="verdict invalid">invalid</span>`,
		"may or may not read stale", "12 runs in 9m41s", `class="mismatch"`, "1 run(s) did not give the expected verdict",
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if n := strings.Count(string(html), `class="mismatch"`); n != 1 {
		t.Errorf("%d rows marked as mismatches, want 1", n)
	}
}
