package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// LocalSpec is a main package of Faultline's own module, built from the
// source tree it is run from (helper binaries: test targets, the network
// sidecar).
type LocalSpec struct {
	// Name names the binary and its cache folder, e.g. "echo".
	Name string
	// Package is the import path of the main package.
	Package string
	// Dir is a directory inside the module; empty means the working
	// directory.
	Dir string
	// CacheDir is the root of the binary cache.
	CacheDir string
}

// BuildLocal compiles s into a static Linux binary and returns its path. The
// binary is stored under its content hash, so concurrent builds from
// different source trees never overwrite each other, and an unchanged
// program keeps its path (and its image tag). Go's build cache makes a
// rebuild of unchanged source take about a second.
func BuildLocal(ctx context.Context, s LocalSpec) (string, error) {
	if s.CacheDir == "" {
		var err error
		if s.CacheDir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", errors.New("building " + s.Name + " needs the Go toolchain on PATH (see README)")
	}
	dir := filepath.Join(s.CacheDir, "bin", s.Name)
	if err := mkdirAll(dir); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+s.Name+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", s.Name, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), s.Package)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 6 {
			msg = strings.Join(lines[len(lines)-6:], "\n")
		}
		return "", fmt.Errorf("build %s (%s) from Faultline's source (run from inside the source tree): %v: %s", s.Name, s.Package, err, msg)
	}
	f, err := os.Open(tmp.Name())
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", s.Name, err)
	}
	final := filepath.Join(dir, "local-"+hex.EncodeToString(h.Sum(nil))[:16]+"-linux-"+runtime.GOARCH, s.Name)
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() {
		return final, checkTrusted(s.CacheDir, final)
	}
	if err := mkdirAll(filepath.Dir(final)); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	// Rename is atomic; a concurrent build of the same content wins or loses
	// the race with identical bytes.
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("store %s in cache: %w", s.Name, err)
	}
	return final, checkTrusted(s.CacheDir, final)
}

// LocalVersion names a binary built by BuildLocal: "local-<content hash>".
func LocalVersion(path string) string {
	v := filepath.Base(filepath.Dir(path))
	return strings.TrimSuffix(v, "-linux-"+runtime.GOARCH)
}
