package gobuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// PackageSpec is a main package of a published module, fetched through the
// module proxy at a version.
type PackageSpec struct {
	// Name names the binary and its cache folder.
	Name string
	// Package is the import path of a main package, e.g.
	// "example.com/kv/cmd/kvd".
	Package string
	// Version is a module version or query: v1.2.3, latest, a branch, a
	// commit.
	Version string
	// CacheDir is the root of the binary cache.
	CacheDir string
	// Log receives progress lines (may be nil).
	Log func(format string, args ...any)
}

// BuildPackage returns the path of the cached binary of s and the module
// version it was built from, compiling it first if needed. It builds in a
// throwaway module (go get pkg@version, then go build pkg), like Build, so
// the package's own module decides its dependencies; unlike `go install
// pkg@version` this also builds modules whose go.mod has replace
// directives (they are ignored, as for any dependency). A version that
// names one release is looked up in the cache without asking the proxy.
func BuildPackage(ctx context.Context, s PackageSpec) (path, version string, err error) {
	if s.CacheDir == "" {
		if s.CacheDir, err = DefaultCacheDir(); err != nil {
			return "", "", err
		}
	}
	logf := s.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", "", errors.New("building " + s.Name + " needs the Go toolchain on PATH (see README)")
	}
	// The package is part of the key: two packages built under one name
	// never share a cache entry.
	ph := sha256.Sum256([]byte(s.Package))
	cached := func(v string) (dir, bin string, ok bool) {
		dir = filepath.Join(s.CacheDir, "bin", s.Name, v+"-"+hex.EncodeToString(ph[:])[:8]+"-linux-"+runtime.GOARCH)
		bin = filepath.Join(dir, s.Name)
		st, err := os.Stat(bin)
		return dir, bin, err == nil && st.Mode().IsRegular()
	}
	if isExactVersion(s.Version) {
		if _, bin, ok := cached(s.Version); ok {
			return bin, s.Version, nil
		}
	}
	work, err := os.MkdirTemp("", "faultline-build-"+s.Name+"-")
	if err != nil {
		return "", "", fmt.Errorf("build %s: %w", s.Name, err)
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte("module faultlinebuild\n\ngo 1.21\n"), 0o644); err != nil {
		return "", "", err
	}
	if _, err := goCmd(ctx, work, "get", s.Package+"@"+s.Version); err != nil {
		return "", "", fmt.Errorf("fetch %s@%s: %w", s.Package, s.Version, err)
	}
	out, err := goCmd(ctx, work, "list", "-mod=mod", "-f", "{{.Name}} {{with .Module}}{{.Version}}{{end}}", s.Package)
	if err != nil {
		return "", "", fmt.Errorf("resolve %s@%s: %w", s.Package, s.Version, err)
	}
	name, version, _ := strings.Cut(strings.TrimSpace(out), " ")
	if name != "main" {
		return "", "", fmt.Errorf("%s is package %s, not a main package (a program)", s.Package, name)
	}
	if version == "" {
		return "", "", fmt.Errorf("resolve %s@%s: no module version", s.Package, s.Version)
	}
	dir, bin, ok := cached(version)
	if ok {
		return bin, version, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	// Another process may have built it while we waited for the lock.
	if _, bin, ok := cached(version); ok {
		return bin, version, nil
	}
	logf("building %s %s from %s (first time only; cached in %s)", s.Name, version, s.Package, dir)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", s.Name, os.Getpid()))
	if _, err := goCmd(ctx, work, "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", tmp, s.Package); err != nil {
		os.Remove(tmp)
		return "", "", fmt.Errorf("compile %s@%s: %w", s.Package, version, err)
	}
	// Rename is atomic: a concurrent build of the same version cannot leave a
	// half-written binary in the cache.
	if err := os.Rename(tmp, bin); err != nil {
		return "", "", fmt.Errorf("store %s in cache: %w", s.Name, err)
	}
	return bin, version, nil
}
