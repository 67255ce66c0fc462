// Package gobuild compiles a Go program from a module at a chosen version into a
// static Linux binary, and caches it per version.
//
// Each build happens in its own throwaway module (a tiny main plus `go get
// module@version`), never in Faultline's go.mod: minimal version selection
// would otherwise silently upgrade an old version's dependencies.
package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Spec is one program to build.
type Spec struct {
	// Name names the cache folder and the binary, e.g. "etcd".
	Name string
	// Module is fetched at Version, e.g. "go.etcd.io/etcd/server/v3".
	Module  string
	Version string
	// Main is the source of main.go in the throwaway module.
	Main string
	// Package, when set, is the main package built instead of Main (a
	// module whose command cannot be imported, e.g. ".../cmd/rqlited").
	Package string
	// Replace are replace directives for the throwaway module, "old=new@v":
	// a module's own go.mod replaces are ignored when it is a dependency,
	// so a build that needs them names them here.
	Replace []string
	// CGO builds with cgo and links statically (-extldflags -static); the
	// C toolchain and the static libc must be installed.
	CGO bool
	// CacheDir is the root of the binary cache.
	CacheDir string
	// Log receives progress lines (may be nil).
	Log func(format string, args ...any)
	// Failpoints lists modules whose gofail comments are turned into
	// failpoints (gofail enable on a writable copy of their sources); the
	// binary is cached apart, and the names found are written beside it
	// (failpoints.txt).
	Failpoints []string
}

// DefaultCacheDir is the user cache dir's faultline folder.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache dir: %w", err)
	}
	return filepath.Join(d, "faultline"), nil
}

// Build returns the path of the cached binary and the resolved version,
// compiling it first if needed. "latest" and branch-like versions are resolved
// through the module proxy before the cache is consulted.
func Build(ctx context.Context, s Spec) (path, version string, err error) {
	if err := setup(s.Name, &s.CacheDir, &s.Log); err != nil {
		return "", "", err
	}
	version = s.Version
	if !isExactVersion(version) {
		out, err := goCmd(ctx, "", "list", "-m", "-f", "{{.Version}}", s.Module+"@"+version)
		if err != nil {
			return "", "", fmt.Errorf("resolve %s@%s: %w", s.Module, version, err)
		}
		version = strings.TrimSpace(out)
	}
	variant := ""
	if len(s.Failpoints) > 0 {
		variant = "-failpoints"
	}
	dir := filepath.Join(s.CacheDir, "bin", s.Name, version+variant+"-linux-"+runtime.GOARCH)
	path = filepath.Join(dir, s.Name)
	if isFile(path) {
		if err := checkTrusted(s.CacheDir, path); err != nil {
			return "", "", err
		}
		return path, version, nil
	}
	err = cache(dir, path, s.Name, func(tmp string) error {
		s.Log("building %s %s from %s (first time only; cached in %s)", s.Name, version, s.Module, dir)
		work, err := workModule(s.Name)
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		for _, r := range s.Replace {
			if _, err := goCmd(ctx, work, "mod", "edit", "-replace", r); err != nil {
				return fmt.Errorf("replace %s for %s@%s: %w", r, s.Module, version, err)
			}
		}
		pkg, fetch := ".", s.Module
		if s.Package != "" {
			// go get of the package records exactly what it needs; tidy
			// would drop it, as nothing in the module imports a command.
			pkg, fetch = s.Package, s.Package
		} else if err := os.WriteFile(filepath.Join(work, "main.go"), []byte(s.Main), 0o644); err != nil {
			return err
		}
		if _, err := goCmd(ctx, work, "get", fetch+"@"+version); err != nil {
			return fmt.Errorf("fetch %s@%s: %w", s.Module, version, err)
		}
		if s.Package == "" {
			if _, err := goCmd(ctx, work, "mod", "tidy"); err != nil {
				return fmt.Errorf("tidy build module for %s@%s: %w", s.Module, version, err)
			}
		}
		if len(s.Failpoints) > 0 {
			names, err := enableFailpoints(ctx, work, s.Failpoints)
			if err != nil {
				return err
			}
			if _, err := goCmd(ctx, work, "mod", "tidy"); err != nil {
				return fmt.Errorf("tidy build module with failpoints: %w", err)
			}
			if err := os.WriteFile(filepath.Join(dir, "failpoints.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
		ldflags := "-ldflags=-s -w"
		env := []string(nil)
		if s.CGO {
			if _, err := exec.LookPath("gcc"); err != nil {
				return errors.New("building " + s.Name + " needs cgo: install gcc and the static C library (Debian: gcc libc6-dev)")
			}
			ldflags += " -extldflags -static"
			env = []string{"CGO_ENABLED=1"}
		}
		if _, err := goCmdEnv(ctx, work, env, "build", "-trimpath", ldflags, "-o", tmp, pkg); err != nil {
			return fmt.Errorf("compile %s@%s: %w", s.Module, version, err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	if err := checkTrusted(s.CacheDir, path); err != nil {
		return "", "", err
	}
	return path, version, nil
}

// setup fills in the default cache dir and a silent log, and checks that
// the Go toolchain is there.
func setup(name string, cacheDir *string, log *func(string, ...any)) error {
	if *cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return err
		}
		*cacheDir = d
	}
	if *log == nil {
		*log = func(string, ...any) {}
	}
	if _, err := exec.LookPath("go"); err != nil {
		return errors.New("building " + name + " needs the Go toolchain on PATH (see README)")
	}
	return nil
}

// workModule creates a throwaway module to build in; the caller removes it.
func workModule(name string) (string, error) {
	work, err := os.MkdirTemp("", "faultline-build-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte("module faultlinebuild\n\ngo 1.21\n"), 0o644); err != nil {
		os.RemoveAll(work)
		return "", err
	}
	return work, nil
}

// cache puts the binary build writes to tmp at bin in dir, under the dir's
// lock, unless another process stored it while this one waited.
func cache(dir, bin, name string, build func(tmp string) error) error {
	if err := mkdirAll(dir); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if isFile(bin) {
		return nil
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", name, os.Getpid()))
	if err := build(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	// Rename is atomic: a concurrent build of the same version cannot leave a
	// half-written binary in the cache.
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("store %s in cache: %w", name, err)
	}
	return nil
}

// mkdirAll is os.MkdirAll with every directory it creates 0755 whatever the
// umask: a cache directory writable by others is refused (checkTrusted).
func mkdirAll(dir string) error {
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if os.IsExist(err) {
			return nil
		}
		return err
	}
	return os.Chmod(dir, 0o755)
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// isExactVersion reports whether v names one release (vX.Y.Z...), so the cache
// can be consulted without asking the module proxy.
func isExactVersion(v string) bool {
	if !strings.HasPrefix(v, "v") {
		return false
	}
	parts := strings.SplitN(strings.SplitN(v[1:], "-", 2)[0], ".", 3)
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	return goCmdEnv(ctx, dir, nil, args...)
}

// goCmdEnv runs go with extra environment, which wins over the defaults.
func goCmdEnv(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off", "GOFLAGS=-buildvcs=false"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 6 {
			msg = strings.Join(lines[len(lines)-6:], "\n")
		}
		if msg == "" {
			return "", err
		}
		return "", fmt.Errorf("go %s: %s", args[0], msg)
	}
	return stdout.String(), nil
}
