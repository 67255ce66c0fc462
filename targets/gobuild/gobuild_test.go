package gobuild

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestIsExactVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"v3.5.17": true, "v3.7.3": true, "v3.6.0-rc.1": true,
		"latest": false, "v3.5": false, "3.5.17": false, "main": false, "v3.x.1": false, "": false,
	} {
		if got := isExactVersion(v); got != want {
			t.Errorf("isExactVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

// An exact version found in the cache is used as is: no proxy, no compiler.
func TestExactVersionComesFromTheCache(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "bin", "etcd", "v3.5.17-linux-"+runtime.GOARCH)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "etcd")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path, version, err := Build(ctx, Spec{Name: "etcd", Module: "go.etcd.io/etcd/server/v3", Version: "v3.5.17", CacheDir: cache,
		Log: func(f string, a ...any) { t.Errorf("built although cached: "+f, a...) }})
	if err != nil || path != bin || version != "v3.5.17" {
		t.Fatalf("Build = %q %q %v, want the cached %s", path, version, err, bin)
	}
}
