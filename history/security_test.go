package history

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A line longer than MaxLineBytes is an error naming it, read in bounded
// memory, not an attempt to hold it whole.
func TestLongLineIsAnError(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"time":1,"type":"invoke","process":0,"f":"read","id":1,"key":"k"}` + "\n")
	b.WriteString(`{"time":2,"type":"ok","process":0,"f":"read","id":1,"key":"k","value":"`)
	b.WriteString(strings.Repeat("x", MaxLineBytes))
	b.WriteString("\"}\n")
	b.WriteString(`{"time":3,"type":"invoke","process":0,"f":"read","id":2,"key":"k"}` + "\n")
	events, _, err := Read(&b)
	if err == nil || !strings.Contains(err.Error(), "history line 2") {
		t.Fatalf("Read: %v, want an error naming line 2", err)
	}
	if len(events) != 1 {
		t.Errorf("%d events before the long line, want 1", len(events))
	}
	// A line just under the cap still reads.
	var ok bytes.Buffer
	ok.WriteString(`{"time":2,"type":"ok","process":0,"f":"read","id":1,"key":"k","value":"`)
	ok.WriteString(strings.Repeat("y", MaxLineBytes-200))
	ok.WriteString("\"}\n")
	if events, _, err := Read(&ok); err != nil || len(events) != 1 || len(events[0].Value) != MaxLineBytes-200 {
		t.Errorf("a line under the cap: %d events, %v", len(events), err)
	}
}

// The writer never writes through a link planted at history.jsonl.
func TestCreateDoesNotFollowALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	os.Symlink(victim, filepath.Join(dir, "history.jsonl"))
	w, err := Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w.Append(Event{Type: Invoke, F: FRead, ID: 1, Key: "k"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target was written: %q", b)
	}
}
