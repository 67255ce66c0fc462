package image

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"syscall"
)

// removeRoot removes a debootstrap tree. debootstrap unmounts what it
// mounted in it (proc, sys), but after a failure something may still be
// mounted there: unmount first, and never remove through a mount.
func removeRoot(dir string, log func(string, ...any)) {
	var under []string
	if f, err := os.Open("/proc/self/mounts"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) > 1 && strings.HasPrefix(fs[1], dir+"/") {
				under = append(under, fs[1])
			}
		}
		f.Close()
	}
	sort.Sort(sort.Reverse(sort.StringSlice(under))) // deepest first
	for _, m := range under {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			log("leaving %s: %s is still mounted (%v)", dir, m, err)
			return
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		log("remove %s: %v", dir, err)
	}
}
