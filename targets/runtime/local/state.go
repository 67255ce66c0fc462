//go:build linux

package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/faultline/faultline/targets/runtime"
)

const stateFile = "state.json"

// state is what a run created, written before each thing is created, so
// that `faultline clean` can undo a run that was killed at any point.
type state struct {
	path string
	mu   sync.Mutex

	RunID   string         `json:"run_id"`
	Harness int            `json:"harness_pid"`
	Dir     string         `json:"dir"`
	Started time.Time      `json:"started"`
	Subnet  string         `json:"subnet,omitempty"`
	NetNS   []string       `json:"netns,omitempty"`
	Links   []string       `json:"links,omitempty"`
	Pids    map[string]int `json:"pids,omitempty"`
	// NodeRoot holds the nodes' directories when they run as another user.
	NodeRoot string `json:"node_root,omitempty"`
}

func (s *state) setPid(node string, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Pids == nil {
		s.Pids = map[string]int{}
	}
	s.Pids[node] = pid
}

func (s *state) save() error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

func readState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &state{path: path}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return s, nil
}

// Clean removes what local runs left: of runID, or of every run when runID
// is empty. It goes by the state files, and then sweeps for anything that
// carries a run id without being recorded: processes with FAULTLINE_RUN in
// their environment, namespaces named faultline-<run>-*, host links
// fl<run>h. nftables rules live in the nodes' namespaces and go with them.
func (r *Runtime) Clean(ctx context.Context, runID string) ([]string, error) {
	var removed []string
	var errs []error
	var dirs []string
	if runID != "" {
		if err := runtime.ValidateRunID(runID); err != nil {
			return nil, err
		}
	}
	// Root acts on what the state directory says: only on one nobody else
	// controls.
	if err := runtime.CheckStateDir(r.stateDir); err != nil {
		return nil, err
	}
	if runID != "" {
		d, err := runtime.RunPath(r.stateDir, runID)
		if err != nil {
			return nil, err
		}
		dirs = []string{d}
	} else {
		m, _ := filepath.Glob(filepath.Join(r.stateDir, "*", stateFile))
		for _, p := range m {
			if d, err := runtime.RunPath(r.stateDir, filepath.Base(filepath.Dir(p))); err == nil {
				dirs = append(dirs, d)
			}
		}
	}
	var namespaces, links, nodeRoots []string
	for _, d := range dirs {
		st, err := readState(filepath.Join(d, stateFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if st == nil {
			continue
		}
		id := filepath.Base(d)
		if st.RunID != id {
			errs = append(errs, fmt.Errorf("%s names run %q, not %s: nothing it lists is removed", st.path, st.RunID, id))
			continue
		}
		// A name outside the run's own naming scheme is not the run's:
		// it is left alone, and said so.
		for _, ns := range st.NetNS {
			if isRunNS(ns, id) {
				namespaces = append(namespaces, ns)
			} else {
				errs = append(errs, fmt.Errorf("%s lists network namespace %q, not one of run %s: left alone", st.path, ns, id))
			}
		}
		if st.NodeRoot != "" {
			if isNodeRoot(st.NodeRoot, id) {
				nodeRoots = append(nodeRoots, st.NodeRoot)
			} else {
				errs = append(errs, fmt.Errorf("%s lists node directory %q, not one of run %s: left alone", st.path, st.NodeRoot, id))
			}
		}
		for _, l := range st.Links {
			if isOurLink(l, id) {
				links = append(links, l)
			} else {
				errs = append(errs, fmt.Errorf("%s lists link %q, not one of run %s: left alone", st.path, l, id))
			}
		}
	}
	// Processes first: a namespace goes away only when nothing runs in it.
	pr, err := killRunProcesses(runID)
	removed = append(removed, pr...)
	if err != nil {
		errs = append(errs, err)
	}
	if ents, err := os.ReadDir(nsDir); err == nil {
		for _, e := range ents {
			if isRunNS(e.Name(), runID) {
				namespaces = append(namespaces, e.Name())
			}
		}
	}
	if ls, err := netlink.LinkList(); err == nil {
		for _, l := range ls {
			if isOurLink(l.Attrs().Name, runID) {
				links = append(links, l.Attrs().Name)
			}
		}
	}
	namespaces, links = dedup(namespaces), dedup(links)
	for _, ns := range namespaces {
		if _, err := os.Stat(filepath.Join(nsDir, ns)); err != nil {
			continue
		}
		if err := netns.DeleteNamed(ns); err != nil {
			errs = append(errs, fmt.Errorf("delete network namespace %s: %w", ns, err))
			continue
		}
		removed = append(removed, "network namespace "+ns)
	}
	for _, name := range links {
		l, err := netlink.LinkByName(name)
		if err != nil {
			continue // went with its namespace
		}
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("delete link %s: %w", name, err))
			continue
		}
		removed = append(removed, "link "+name)
	}
	// Node directories of runs whose state file is gone, found by name.
	pattern := nodeRootPrefix + "*"
	if runID != "" {
		pattern = nodeRootPrefix + runID + "-*"
	}
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), pattern))
	for _, p := range m {
		id, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(p), nodeRootPrefix), "-")
		if runtime.ValidateRunID(id) == nil && isNodeRoot(p, id) {
			nodeRoots = append(nodeRoots, p)
		}
	}
	for _, d := range append(dirs, dedup(nodeRoots)...) {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "directory "+d)
	}
	return removed, errors.Join(errs...)
}

// killRunProcesses SIGKILLs every process whose environment carries the run
// id (any run id when runID is empty) and waits briefly for them to go.
func killRunProcesses(runID string) ([]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	want := []byte(runtime.EnvRun + "=" + runID)
	var pids []int
	var removed []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		found := false
		for _, kv := range bytes.Split(env, []byte{0}) {
			id, ok := bytes.CutPrefix(kv, []byte(runtime.EnvRun+"="))
			if ok && runtime.ValidateRunID(string(id)) == nil && (runID == "" || bytes.Equal(kv, want)) {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			pids = append(pids, pid)
			removed = append(removed, fmt.Sprintf("process %d (%s)", pid, comm(pid)))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for time.Now().Before(deadline) {
			if err := syscall.Kill(pid, 0); err != nil {
				break
			}
			// A killed child of a live process stays a zombie until reaped;
			// it holds nothing.
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); bytes.Contains(b, []byte(") Z ")) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return removed, nil
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func dedup(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
