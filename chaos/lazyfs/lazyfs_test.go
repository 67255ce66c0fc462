//go:build linux

package lazyfs

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func mountT(t *testing.T) *FS {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	f, err := Mount(filepath.Join(dir, "mnt"), filepath.Join(dir, "backing"), "faultline-test-lazyfs")
	if err != nil {
		t.Skip("cannot mount FUSE here:", err)
	}
	t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

func TestSyncedSurvivesUnsyncedIsLost(t *testing.T) {
	f := mountT(t)
	ctx := context.Background()
	synced := filepath.Join(f.Dir(), "synced")
	lazy := filepath.Join(f.Dir(), "lazy")
	w, err := os.Create(synced)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("durable"))
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(" and not"))
	w.Close()
	if err := os.WriteFile(lazy, []byte("gone"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(lazy); string(b) != "gone" {
		t.Fatalf("before the loss the program reads its write: got %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Backing(), "lazy")); len(b) != 0 {
		t.Fatalf("unsynced data reached the backing directory: %q", b)
	}
	if u := f.Unsynced(); u.Files != 2 {
		t.Fatalf("unsynced files: got %d, want 2", u.Files)
	}
	loss, err := f.LoseUnsynced(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loss.Files != 2 {
		t.Errorf("lost files: got %d, want 2", loss.Files)
	}
	if b, _ := os.ReadFile(synced); string(b) != "durable" {
		t.Errorf("synced file after the loss: got %q, want %q", b, "durable")
	}
	if b, err := os.ReadFile(lazy); err != nil || len(b) != 0 {
		// Its creation was metadata, which is kept; its data is not.
		t.Errorf("unsynced file after the loss: got %q, %v; want it empty", b, err)
	}
}

// A property: after random writes, truncations and syncs, reads through the
// mount see the program's view, and after the loss the file is exactly what
// it was at its last sync.
func TestRandomOpsMatchModel(t *testing.T) {
	f := mountT(t)
	ctx := context.Background()
	for seed := uint64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 7))
		name := filepath.Join(f.Dir(), "f")
		os.Remove(name)
		file, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		var view, durable []byte
		for range 40 {
			switch rnd.IntN(5) {
			case 0, 1, 2:
				off := rnd.IntN(3 * pageSize)
				data := make([]byte, rnd.IntN(2*pageSize)+1)
				for i := range data {
					data[i] = byte(rnd.IntN(255) + 1)
				}
				if _, err := file.WriteAt(data, int64(off)); err != nil {
					t.Fatal(err)
				}
				if len(view) < off+len(data) {
					view = append(view, make([]byte, off+len(data)-len(view))...)
				}
				copy(view[off:], data)
			case 3:
				sz := rnd.IntN(4 * pageSize)
				if err := file.Truncate(int64(sz)); err != nil {
					t.Fatal(err)
				}
				if sz < len(view) {
					view = view[:sz]
				} else {
					view = append(view, make([]byte, sz-len(view))...)
				}
			case 4:
				if err := file.Sync(); err != nil {
					t.Fatal(err)
				}
				durable = append([]byte(nil), view...)
			}
			got, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, view) {
				t.Fatalf("seed %d: read %d bytes differ from the %d written", seed, len(got), len(view))
			}
		}
		file.Close()
		if _, err := f.LoseUnsynced(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, durable) {
			t.Fatalf("seed %d: after the loss %d bytes, want the %d synced", seed, len(got), len(durable))
		}
	}
}

func TestMountsListsAndUnmountDetaches(t *testing.T) {
	f := mountT(t)
	ms, err := Mounts("faultline-test-lazyfs")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		found = found || m == f.Dir()
	}
	if !found {
		t.Fatalf("mount %s not in %v", f.Dir(), ms)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms, _ = Mounts("faultline-test-lazyfs")
	for _, m := range ms {
		if m == f.Dir() {
			t.Fatalf("%s still mounted after Close", m)
		}
	}
}
