//go:build linux

package local

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultNodeUser is who node programs run as when the harness is root: a
// program fetched at "latest" from a module proxy is not given root on the
// host. --node-user root restores full root.
const DefaultNodeUser = "nobody"

// nodeUser is who node processes run as.
type nodeUser struct {
	name     string
	uid, gid uint32
}

// same says whether nodes run as the harness does (root with --node-user
// root, or an unprivileged caller): no credentials to change, and the node
// directories stay in the run directory.
func (u *nodeUser) same() bool { return u == nil }

// CheckNodeUser refuses a --node-user that cannot be had, before anything is
// launched.
func CheckNodeUser(name string) error {
	_, err := resolveNodeUser(name)
	return err
}

// resolveNodeUser turns --node-user into credentials. "" is DefaultNodeUser
// as root and the caller otherwise; "root" as root keeps root; a user other
// than the caller needs root.
func resolveNodeUser(name string) (*nodeUser, error) {
	euid := os.Geteuid()
	if name == "" {
		if euid != 0 {
			return nil, nil
		}
		name = DefaultNodeUser
	}
	var u *user.User
	var err error
	if _, nerr := strconv.Atoi(name); nerr == nil {
		u, err = user.LookupId(name)
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, fmt.Errorf("--node-user %s: %v", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("--node-user %s: uid %s gid %s are not numbers", name, u.Uid, u.Gid)
	}
	switch {
	case int(uid) == euid:
		return nil, nil // nodes run as the harness does
	case euid != 0:
		return nil, fmt.Errorf("--node-user %s: running node programs as another user needs root", name)
	}
	return &nodeUser{name: u.Username, uid: uint32(uid), gid: uint32(gid)}, nil
}

// credential is what the node's process runs with: the user's uid and gid,
// and no supplementary groups (root's would stay otherwise).
func (u *nodeUser) credential() *syscall.Credential {
	if u.same() {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}
}

const nodeRootPrefix = "faultline-nodes-"

// makeNodeRoot creates the directory that holds the nodes' directories and
// a copy of their binary when they run as another user: the state directory
// is 0700 root, so they could not reach anything in it. It is root's and
// 0711 (enterable, not listable); the binary in it is root's and 0755, so
// the nodes can run it but not change it.
func makeNodeRoot(runID, binary string) (dir, bin string, err error) {
	dir, err = os.MkdirTemp("", nodeRootPrefix+runID+"-")
	if err != nil {
		return "", "", fmt.Errorf("local runtime: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o711); err != nil {
		return dir, "", err
	}
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		return dir, "", err
	}
	if err := os.Chmod(filepath.Join(dir, "bin"), 0o755); err != nil {
		return dir, "", err
	}
	bin = filepath.Join(dir, "bin", filepath.Base(binary))
	if err := copyFile(binary, bin, 0o755); err != nil {
		return dir, "", fmt.Errorf("local runtime: copy %s for the node user: %w", binary, err)
	}
	return dir, bin, nil
}

// nodeDir creates a node's directory owned by the node user, 0700.
func (u *nodeUser) nodeDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("local runtime: %w", err)
	}
	if u.same() {
		return nil
	}
	return os.Lchown(dir, int(u.uid), int(u.gid))
}

// isNodeRoot says whether a path recorded in a state file is a node root of
// runID that this runtime made: a directory (not a link) directly in the
// temporary directory, named for the run, owned by the caller.
func isNodeRoot(p, runID string) bool {
	if filepath.Dir(p) != filepath.Clean(os.TempDir()) || !strings.HasPrefix(filepath.Base(p), nodeRootPrefix+runID+"-") {
		return false
	}
	st, err := os.Lstat(p)
	if err != nil || !st.IsDir() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Geteuid()
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, perm)
	}
	return err
}
