//go:build !linux

// Package lazyfs is a FUSE file system that loses unsynced writes; it needs
// Linux.
package lazyfs

import "errors"

// FsType is the type lazyfs mounts carry in /proc/mounts.
const FsType = "faultline-lazyfs"

// Available says lazyfs cannot be had off Linux.
func Available() error { return errors.New("lazyfs needs Linux (FUSE)") }

// Mounts lists nothing off Linux.
func Mounts(prefix string) ([]string, error) { return nil, nil }

// Unmount has nothing to do off Linux.
func Unmount(mnt string) error { return nil }
