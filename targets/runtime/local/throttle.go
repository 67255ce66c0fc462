//go:build linux

package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/faultline/faultline/targets/runtime"
)

var _ runtime.Throttler = (*node)(nil)

// cgroupName is the cgroup a throttled node's processes are moved to, for
// the fault's window: faultline-<run>-<node>, under the harness's own
// cgroup (so that a cgroup limit on the harness still covers them). Clean
// finds it by name.
func cgroupName(runID, node string) string { return "faultline-" + runID + "-" + node }

// cgroupBase returns the directory of this process's cgroup in the
// hierarchy that holds the cpu controller (v1), or the unified one (v2).
func cgroupBase() (dir string, v2 bool, err error) {
	if runtime.CgroupV2() {
		rel, err := selfCgroup(func(ctrls string) bool { return ctrls == "" })
		if err != nil {
			return "", true, err
		}
		return filepath.Join("/sys/fs/cgroup", rel), true, nil
	}
	rel, err := selfCgroup(func(ctrls string) bool {
		for c := range strings.SplitSeq(ctrls, ",") {
			if c == "cpu" {
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", false, err
	}
	for _, mount := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"} {
		if _, err := os.Stat(filepath.Join(mount, "cpu.cfs_quota_us")); err == nil {
			return filepath.Join(mount, rel), false, nil
		}
	}
	return "", false, errors.New("no cgroup v1 cpu controller mounted under /sys/fs/cgroup")
}

// selfCgroup reads this process's cgroup path for the hierarchy whose
// controller list matches.
func selfCgroup(match func(ctrls string) bool) (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 && match(parts[1]) {
			return parts[2], nil
		}
	}
	return "", errors.New("cannot find this process's cgroup in /proc/self/cgroup")
}

// Throttle moves the node's processes into a cgroup of their own with the
// limits, or (zero Limits) moves them back and removes it.
func (n *node) Throttle(ctx context.Context, l runtime.Limits) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	base, v2, err := cgroupBase()
	if err != nil {
		return "", fmt.Errorf("throttle %s: %w", n.name, err)
	}
	dir := filepath.Join(base, cgroupName(n.c.runID, n.name))
	if l == (runtime.Limits{}) {
		if err := unthrottle(dir, base); err != nil {
			return "", err
		}
		return "processes moved back to " + base + ", cgroup " + filepath.Base(dir) + " removed", nil
	}
	if !n.running() {
		return "", fmt.Errorf("throttle %s: not running", n.name)
	}
	if l.IOBytesPerSec > 0 && !v2 {
		return "", runtime.ErrNoIOLimit
	}
	if v2 {
		// Controllers must be enabled for the children of the parent.
		var want []string
		if l.CPUPercent > 0 {
			want = append(want, "+cpu")
		}
		if l.IOBytesPerSec > 0 {
			want = append(want, "+io")
		}
		if err := os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte(strings.Join(want, " ")), 0); err != nil {
			return "", fmt.Errorf("throttle %s: enable %v in %s: %w", n.name, want, base, err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("throttle %s: %w", n.name, err)
	}
	var how []string
	fail := func(err error) (string, error) {
		return "", errors.Join(fmt.Errorf("throttle %s: %w", n.name, err), unthrottle(dir, base))
	}
	if l.CPUPercent > 0 {
		const period = 100000
		quota := max(1000, period*l.CPUPercent/100)
		if v2 {
			if err := os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0); err != nil {
				return fail(err)
			}
			how = append(how, fmt.Sprintf("cpu.max %d %d", quota, period))
		} else {
			if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), fmt.Append(nil, period), 0); err != nil {
				return fail(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), fmt.Append(nil, quota), 0); err != nil {
				return fail(err)
			}
			how = append(how, fmt.Sprintf("cpu.cfs_quota_us %d of %d (cgroup v1)", quota, period))
		}
	}
	if l.IOBytesPerSec > 0 {
		var st syscall.Stat_t
		if err := syscall.Stat(n.dir, &st); err != nil {
			return fail(err)
		}
		maj, mnr := unix.Major(st.Dev), unix.Minor(st.Dev)
		if maj == 0 {
			return fail(fmt.Errorf("data directory %s is not on a block device (%d:%d): io.max cannot slow it", n.dir, maj, mnr))
		}
		line := fmt.Sprintf("%d:%d rbps=%d wbps=%d", maj, mnr, l.IOBytesPerSec, l.IOBytesPerSec)
		if err := os.WriteFile(filepath.Join(dir, "io.max"), []byte(line), 0); err != nil {
			return fail(err)
		}
		how = append(how, "io.max "+line)
	}
	moved, err := moveGroup(n.proc.Pid, dir)
	if err != nil {
		return fail(err)
	}
	return fmt.Sprintf("cgroup %s (%d processes): %s", dir, moved, strings.Join(how, ", ")), nil
}

// moveGroup moves every process of process group pgid into the cgroup.
func moveGroup(pgid int, dir string) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), fmt.Append(nil, pid), 0); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				continue
			}
			return moved, fmt.Errorf("move %d to %s: %w", pid, dir, err)
		}
		moved++
	}
	return moved, nil
}

// unthrottle moves whatever is in the cgroup back to base and removes it.
func unthrottle(dir, base string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for f := range strings.FieldsSeq(string(b)) {
		if err := os.WriteFile(filepath.Join(base, "cgroup.procs"), []byte(f), 0); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("move %s back to %s: %w", f, base, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// cleanCgroups removes the cgroups of the run (every run when runID is
// ""), wherever in the hierarchy they are: a harness killed during a slow
// fault leaves one behind, empty once the node's processes are killed.
func cleanCgroups(runID string) ([]string, error) {
	prefix := "faultline-"
	if runID != "" {
		prefix += runID + "-"
	}
	var removed []string
	var errs []error
	for _, root := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup"} {
		if _, err := os.Stat(root); err != nil {
			continue
		}
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.Count(strings.TrimPrefix(p, root), "/") > 4 {
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), prefix) {
				if err := unthrottle(p, filepath.Dir(p)); err != nil {
					errs = append(errs, err)
				} else {
					removed = append(removed, "cgroup "+p)
				}
				return filepath.SkipDir
			}
			return nil
		})
	}
	return removed, errors.Join(errs...)
}
