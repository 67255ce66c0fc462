//go:build unix

// Package filelock serialises work across processes (parallel test packages,
// two CLI runs) with an advisory lock file, so a cold cache builds each
// binary or image once.
package filelock

import (
	"fmt"
	"os"
	"syscall"
)

// Lock takes the exclusive lock of path (created if missing) and returns
// the function that releases it.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
