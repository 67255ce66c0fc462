//go:build unix

package gobuild

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// checkTrusted refuses a cached binary that someone else could have put
// there or replaced: the binary and every directory from the cache root
// down to it must be owned by the caller (or root) and writable by nobody
// else, and none of them below the root a symlink. Faultline runs what it
// finds in the cache, often as root.
func checkTrusted(root, bin string) error {
	root = filepath.Clean(root)
	rel, err := filepath.Rel(root, bin)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("build cache: %s is not inside %s", bin, root)
	}
	st, err := os.Stat(root) // the root itself may be a link (~/.cache elsewhere)
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	if err := trusted(root, st); err != nil {
		return err
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("build cache: %w", err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("build cache: %s is a symlink: refused (remove it; Faultline rebuilds what it needs)", p)
		}
		if err := trusted(p, st); err != nil {
			return err
		}
	}
	return nil
}

func trusted(p string, st fs.FileInfo) error {
	if m := st.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("build cache: %s is writable by others (mode %04o): a binary there could be replaced before Faultline runs it (chmod go-w %s, or set XDG_CACHE_HOME to a cache of your own)", p, m, p)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if uid := int(sys.Uid); uid != os.Geteuid() && uid != 0 {
			return fmt.Errorf("build cache: %s is owned by uid %d, not by you (uid %d) or root: refused (set XDG_CACHE_HOME to a cache of your own)", p, uid, os.Geteuid())
		}
	}
	return nil
}
