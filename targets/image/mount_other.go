//go:build !linux

package image

import "os"

// removeRoot removes a debootstrap tree (debootstrap runs on Linux only).
func removeRoot(dir string, log func(string, ...any)) {
	if err := os.RemoveAll(dir); err != nil {
		log("remove %s: %v", dir, err)
	}
}
