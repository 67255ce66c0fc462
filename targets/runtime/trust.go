package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Run ids. Faultline makes them (NewRunID) and reads them back from flags,
// scenario files, state files and cluster records; every one is checked here,
// in one place, because ids become directory names that `clean` removes as
// root, container and namespace names, and labels.

// runIDLen is the length of a run id: 8 lowercase hex digits.
const runIDLen = 8

// NewRunID returns a fresh random run id.
func NewRunID() string {
	b := make([]byte, runIDLen/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ValidateRunID accepts exactly the form NewRunID makes. Anything else (a
// path, "..", a name with a slash) is refused before it is joined into a path
// or a name.
func ValidateRunID(id string) error {
	if len(id) != runIDLen || strings.Trim(id, "0123456789abcdef") != "" {
		return fmt.Errorf("run id %q: want %d lowercase hex digits, as Faultline makes them (e.g. 0a3251f9)", id, runIDLen)
	}
	return nil
}

// RunPath is parent/id for a valid run id, checked after cleaning to be a
// direct child of parent.
func RunPath(parent, id string) (string, error) {
	if err := ValidateRunID(id); err != nil {
		return "", err
	}
	return Within(parent, id)
}

// Within joins name to parent and checks that the cleaned result is a direct
// child of parent: no separator, no "..", nothing that lands elsewhere.
func Within(parent, name string) (string, error) {
	clean := filepath.Clean(parent)
	p := filepath.Join(clean, name)
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, filepath.Separator) ||
		strings.ContainsRune(name, '/') || filepath.Dir(p) != clean {
		return "", fmt.Errorf("%q is not a name inside %s", name, clean)
	}
	return p, nil
}

// The state directory.

// StateDir is where runtimes keep what must outlive the harness process:
// node logs and the state file of the local runtime, and records of what a
// run created, read by `faultline clean` after a run was killed.
// FAULTLINE_STATE_DIR overrides it. As root it is /run/faultline (a tmpfs
// only root writes to); otherwise $XDG_RUNTIME_DIR/faultline, or
// $TMPDIR/faultline-<uid>. Whatever it is, CheckStateDir decides whether it
// can be trusted.
func StateDir() string {
	if d := os.Getenv("FAULTLINE_STATE_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/run/faultline"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "faultline")
	}
	return filepath.Join(os.TempDir(), "faultline-"+strconv.Itoa(os.Geteuid()))
}

// CheckStateDir refuses a state directory that someone else could have
// planted or can write to: root removes, unmounts and signals what is
// recorded inside it. It must be a directory owned by the caller and
// writable by nobody else. A directory that does not exist yet passes (it
// will be created 0700).
func CheckStateDir(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		if err := ownedByMe("state directory", dir, st); err != nil {
			return err
		}
		if st, err = os.Stat(dir); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	if !st.IsDir() {
		return fmt.Errorf("state directory %s is not a directory (set FAULTLINE_STATE_DIR to one of your own)", dir)
	}
	if err := ownedByMe("state directory", dir, st); err != nil {
		return err
	}
	if m := st.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("state directory %s has mode %04o: others can write to it, and root trusts what is inside (chmod 700 %s, or set FAULTLINE_STATE_DIR to a directory of your own)", dir, m, dir)
	}
	return nil
}

// EnsureStateDir creates dir 0700 if it is missing and checks it
// (CheckStateDir).
func EnsureStateDir(dir string) error {
	if err := CheckStateDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return CheckStateDir(dir)
}

func ownedByMe(what, path string, st fs.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int(sys.Uid); uid != os.Geteuid() {
		return fmt.Errorf("%s %s is owned by uid %d, not by you (uid %d): someone else made it, so it cannot be trusted (remove it, or set FAULTLINE_STATE_DIR to a directory of your own)",
			what, path, uid, os.Geteuid())
	}
	return nil
}

// Processes. A pid alone does not name a process: the kernel reuses it. A
// Process adds what does not change over a process's life and differs
// between two processes that held the pid in turn: its executable and its
// start time (in clock ticks since boot).

// Process identifies a live process.
type Process struct {
	Pid int `json:"pid"`
	// Exe is the target of /proc/<pid>/exe.
	Exe string `json:"exe,omitempty"`
	// Start is field 22 of /proc/<pid>/stat.
	Start uint64 `json:"start_ticks,omitempty"`
}

// Self is the calling process.
func Self() (Process, error) { return ProcessOf(os.Getpid()) }

// ProcessOf reads the identity of pid. A zombie counts as gone.
func ProcessOf(pid int) (Process, error) {
	if pid <= 0 {
		return Process{}, fmt.Errorf("no process %d", pid)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Process{}, fmt.Errorf("process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold anything,
	// parentheses too: the fields that follow start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return Process{}, fmt.Errorf("process %d: unreadable stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return Process{}, fmt.Errorf("process %d: unreadable stat", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return Process{}, fmt.Errorf("process %d has exited", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Process{}, fmt.Errorf("process %d: unreadable start time", pid)
	}
	exe, err := os.Readlink(dir + "/exe")
	if err != nil {
		return Process{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return Process{Pid: pid, Exe: exe, Start: start}, nil
}

// Verify says whether p is still the process it was recorded as: the same
// pid, executable and start time. Only then may it be signalled.
func (p Process) Verify() error {
	if p.Exe == "" || p.Start == 0 {
		return fmt.Errorf("process %d: the record does not say which process it is (no executable or start time)", p.Pid)
	}
	now, err := ProcessOf(p.Pid)
	if err != nil {
		return err
	}
	if now.Exe != p.Exe || now.Start != p.Start {
		return fmt.Errorf("process %d is not the one recorded (%s started at tick %d; now %s started at tick %d): not signalled",
			p.Pid, p.Exe, p.Start, now.Exe, now.Start)
	}
	return nil
}

// Signal sends sig to p after Verify.
func (p Process) Signal(sig syscall.Signal) error {
	if err := p.Verify(); err != nil {
		return err
	}
	return syscall.Kill(p.Pid, sig)
}
