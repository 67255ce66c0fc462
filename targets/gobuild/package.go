package gobuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
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
	if err := setup(s.Name, &s.CacheDir, &s.Log); err != nil {
		return "", "", err
	}
	// The package is part of the key: two packages built under one name
	// never share a cache entry.
	ph := sha256.Sum256([]byte(s.Package))
	where := func(v string) (dir, bin string) {
		dir = filepath.Join(s.CacheDir, "bin", s.Name, v+"-"+hex.EncodeToString(ph[:])[:8]+"-linux-"+runtime.GOARCH)
		return dir, filepath.Join(dir, s.Name)
	}
	if isExactVersion(s.Version) {
		if _, bin := where(s.Version); isFile(bin) {
			if err := checkTrusted(s.CacheDir, bin); err != nil {
				return "", "", err
			}
			return bin, s.Version, nil
		}
	}
	work, err := workModule(s.Name)
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(work)
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
	dir, bin := where(version)
	if isFile(bin) {
		if err := checkTrusted(s.CacheDir, bin); err != nil {
			return "", "", err
		}
		return bin, version, nil
	}
	err = cache(dir, bin, s.Name, func(tmp string) error {
		s.Log("building %s %s from %s (first time only; cached in %s)", s.Name, version, s.Package, dir)
		if _, err := goCmd(ctx, work, "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", tmp, s.Package); err != nil {
			return fmt.Errorf("compile %s@%s: %w", s.Package, version, err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	if err := checkTrusted(s.CacheDir, bin); err != nil {
		return "", "", err
	}
	return bin, version, nil
}
