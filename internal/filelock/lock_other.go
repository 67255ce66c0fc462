//go:build !unix

// Package filelock serialises work across processes with an advisory lock
// file, so a cold cache builds each binary or image once.
package filelock

// Lock is a no-op where flock is missing: callers keep their caches
// consistent by atomic renames, at the price of duplicate work.
func Lock(string) (func(), error) { return func() {}, nil }
