package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli from the command tree")

// docs/cli/*.md are what --help says; this test fails when they drift.
// Regenerate: go test ./cmd/faultline -run TestCLIDocs -update-docs
func TestCLIDocs(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "cli")
	a := &app{stdout: io.Discard, stderr: io.Discard}
	if *updateDocs {
		if err := writeCLIDocs(a.root(), dir); err != nil {
			t.Fatal(err)
		}
	}
	pages := cliDocs(a.root())
	for _, want := range []string{"faultline.md", "faultline_run.md", "faultline_cluster_up.md", "faultline_completion.md", "faultline_version.md"} {
		if _, ok := pages[want]; !ok {
			t.Errorf("no page %s", want)
		}
	}
	for name, body := range pages {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, []byte(body)) {
			t.Errorf("docs/cli/%s is not current (%v): go test ./cmd/faultline -run TestCLIDocs -update-docs", name, err)
		}
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "faultline*.md"))
	for _, p := range stale {
		if _, ok := pages[filepath.Base(p)]; !ok {
			t.Errorf("docs/cli/%s documents a command that is gone", filepath.Base(p))
		}
	}
}
