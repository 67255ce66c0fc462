package safefile

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func victim(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(p, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func unchanged(t *testing.T, p string) {
	t.Helper()
	if b, err := os.ReadFile(p); err != nil || string(b) != "precious" {
		t.Errorf("%s changed: %q, %v", p, b, err)
	}
}

// A symlink or a hard link planted at the name is replaced, not written
// through.
func TestWriteFileReplacesLinks(t *testing.T) {
	dir := t.TempDir()
	v := victim(t)
	os.Symlink(v, filepath.Join(dir, "junit.xml"))
	if err := WriteFile(dir, "junit.xml", []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	unchanged(t, v)
	if st, _ := os.Lstat(filepath.Join(dir, "junit.xml")); !st.Mode().IsRegular() {
		t.Errorf("junit.xml is still a link")
	}
	v2 := filepath.Join(dir, "hard")
	os.WriteFile(v2, []byte("precious"), 0o644)
	if err := os.Link(v2, filepath.Join(dir, "summary.json")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "summary.json", []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	unchanged(t, v2)
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestCreateReplacesLinks(t *testing.T) {
	dir := t.TempDir()
	v := victim(t)
	os.Symlink(v, filepath.Join(dir, "history.jsonl"))
	f, err := Create(dir, "history.jsonl", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "new")
	f.Close()
	unchanged(t, v)
}

// A planted directory symlink (logs -> elsewhere) is refused, and names
// never leave the directory.
func TestDirectoriesNotFollowed(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	os.Symlink(elsewhere, filepath.Join(dir, "logs"))
	if err := MkdirAll(dir, "logs", 0o755); err == nil {
		t.Errorf("MkdirAll through a symlinked logs/")
	}
	if err := WriteFile(dir, "logs/n1.log", []byte("x"), 0o644); err == nil {
		t.Errorf("WriteFile through a symlinked logs/")
	}
	if _, err := Create(dir, "logs/n1.log", 0o644); err == nil {
		t.Errorf("Create through a symlinked logs/")
	}
	for _, name := range []string{"../x", "/etc/x", "a/../../x", ""} {
		if err := WriteFile(dir, name, []byte("x"), 0o644); err == nil {
			t.Errorf("WriteFile %q accepted", name)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(elsewhere, "*")); len(m) > 0 {
		t.Errorf("written elsewhere: %v", m)
	}
	if err := MkdirAll(dir, "data/n1/member", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "data/n1/member/wal", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
