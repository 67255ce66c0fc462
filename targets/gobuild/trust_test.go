//go:build unix

package gobuild

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A cached binary in a directory others can write to (they could have
// replaced it) is refused in one line, and so is one owned by another user.
func TestCacheWritableByOthersRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		name  string
		spoil func(cache, dir, bin string) error
		want  string
	}{
		{"world-writable dir", func(cache, dir, bin string) error { return os.Chmod(filepath.Dir(dir), 0o777) }, "writable by others"},
		{"group-writable binary", func(cache, dir, bin string) error { return os.Chmod(bin, 0o775) }, "writable by others"},
		{"symlinked version dir", func(cache, dir, bin string) error {
			real := dir + ".real"
			if err := os.Rename(dir, real); err != nil {
				return err
			}
			return os.Symlink(real, dir)
		}, "symlink"},
		{"binary of another user", func(cache, dir, bin string) error {
			if os.Geteuid() != 0 {
				return nil
			}
			return os.Chown(bin, 65534, 65534)
		}, "owned by uid 65534"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			dir := filepath.Join(cache, "bin", "etcd", "v3.5.17-linux-"+runtime.GOARCH)
			if err := mkdirAll(dir); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, "etcd")
			if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := c.spoil(cache, dir, bin); err != nil {
				t.Fatal(err)
			}
			if c.want == "owned by uid 65534" && os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			_, _, err := Build(ctx, Spec{Name: "etcd", Module: "go.etcd.io/etcd/server/v3", Version: "v3.5.17", CacheDir: cache})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Build = %v, want one line saying %q", err, c.want)
			}
		})
	}
}
