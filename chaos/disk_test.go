package chaos

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func writeTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"raft.db": bytes.Repeat([]byte{0xAA}, 5000), "snapshots/1/state.bin": bytes.Repeat([]byte{1}, 300), "empty": nil}
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestCorruptFileIsSeededAndDoesWhatItSays(t *testing.T) {
	for _, mode := range []string{CorruptFlip, CorruptTruncate} {
		var details []string
		for range 2 {
			dir := t.TempDir()
			orig := writeTree(t, dir)
			f, err := CorruptFile(ChooseRandom, "*.db", mode, 5)
			if err != nil {
				t.Fatal(err)
			}
			what, err := f.(*corruptFile).corrupt(dir, rand.New(rand.NewPCG(42, 1)))
			if err != nil {
				t.Fatal(err)
			}
			details = append(details, what)
			got, _ := os.ReadFile(filepath.Join(dir, "raft.db"))
			if b, _ := os.ReadFile(filepath.Join(dir, "snapshots/1/state.bin")); !bytes.Equal(b, orig["snapshots/1/state.bin"]) {
				t.Errorf("%s: a file the pattern does not match was changed", mode)
			}
			switch mode {
			case CorruptFlip:
				flipped := 0
				for i := range got {
					flipped += bits.OnesCount8(got[i] ^ orig["raft.db"][i])
				}
				// Two draws may hit the same bit and undo each other.
				if len(got) != 5000 || flipped == 0 || flipped > 5 || (5-flipped)%2 != 0 {
					t.Errorf("flip: %d bits differ in %d bytes (%s)", flipped, len(got), what)
				}
			case CorruptTruncate:
				if len(got) >= 5000 || !bytes.Equal(got, orig["raft.db"][:len(got)]) {
					t.Errorf("truncate: %d bytes left, not a prefix (%s)", len(got), what)
				}
			}
		}
		if details[0] != details[1] {
			t.Errorf("%s: the same seed did different things: %q vs %q", mode, details[0], details[1])
		}
	}
}

func TestCorruptFileRefusesWhatItCannotDo(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir)
	f, _ := CorruptFile(ChooseRandom, "*.wal", CorruptFlip, 1)
	if _, err := f.(*corruptFile).corrupt(dir, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("no file matches *.wal, yet corrupt did something")
	}
	for _, spec := range []string{"corrupt-file:mode=melt", "corrupt-file:bits=0", "corrupt-file:pattern=[", "corrupt-file:node=all", "corrupt-file:size=1",
		"lose-unsynced:nodes=two", "lose-unsynced:node=all"} {
		if _, err := Lookup(spec, DefaultOptions()); err == nil {
			t.Errorf("%s accepted", spec)
		}
	}
	for _, spec := range []string{"corrupt-file:pattern=*.db,mode=flip,bits=3,node=leader", "lose-unsynced:nodes=majority", "lose-unsynced"} {
		f, err := Lookup(spec, DefaultOptions())
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		if n := f.Needs(); !n.LazyFS && !n.DataFiles {
			t.Errorf("%s: needs neither lazyfs nor data files", spec)
		}
	}
}
