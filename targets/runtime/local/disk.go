//go:build linux

package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/faultline/faultline/chaos/lazyfs"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

var (
	_ runtime.LazyDisk    = (*node)(nil)
	_ runtime.DataDirNode = (*node)(nil)
	_ runtime.ClockNode   = (*node)(nil)
)

// prepareDisk creates the node's clock control file and, with lazy, mounts
// lazyfs over its data directory (backed by data.synced beside it). The
// mount is recorded before it is made, for `faultline clean`.
func (n *node) prepareDisk(lazy bool) error {
	if err := os.WriteFile(n.clockPath(), make([]byte, 24), 0o644); err != nil {
		return fmt.Errorf("local runtime: clock control of %s: %w", n.name, err)
	}
	if !lazy {
		return nil
	}
	if err := lazyfs.Available(); err != nil {
		return fmt.Errorf("local runtime: %w", err)
	}
	mnt := filepath.Join(n.dir, "data")
	n.c.st.addMount(mnt)
	if err := n.c.st.save(); err != nil {
		return err
	}
	fs, err := lazyfs.Mount(mnt, filepath.Join(n.dir, "data.synced"), "faultline-"+n.c.runID+"-"+n.name)
	if err != nil {
		return fmt.Errorf("local runtime: data directory of %s: %w", n.name, err)
	}
	n.lazy = fs
	return nil
}

func (n *node) clockPath() string { return filepath.Join(n.dir, "clock") }

// HostDataDir is the node's data directory (the lazyfs mount, when there is
// one, so that what a fault writes is what the node reads).
func (n *node) HostDataDir() string { return filepath.Join(n.dir, "data") }

// LoseUnsynced throws away the node's unsynced writes; it must be stopped.
func (n *node) LoseUnsynced(ctx context.Context) (string, error) {
	if n.lazy == nil {
		return "", fmt.Errorf("node %s: data directory not on lazyfs (the cluster was launched without it)", n.name)
	}
	n.mu.Lock()
	running := n.running()
	n.mu.Unlock()
	if running {
		return "", fmt.Errorf("node %s: lose unsynced writes of a running node", n.name)
	}
	loss, err := n.lazy.LoseUnsynced(ctx)
	if err != nil {
		return "", fmt.Errorf("node %s: %w", n.name, err)
	}
	return loss.String(), nil
}

// SetClock writes the node's clock control file, which the clock hook maps.
func (n *node) SetClock(ctx context.Context, c runtime.Clock) error {
	f, err := os.OpenFile(n.clockPath(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("clock of %s: %w", n.name, err)
	}
	defer f.Close()
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b[8:], uint64(c.Strobe))
	binary.LittleEndian.PutUint64(b[16:], uint64(c.Period))
	binary.LittleEndian.PutUint64(b[0:], uint64(c.Offset))
	if _, err := f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("clock of %s: %w", n.name, err)
	}
	return nil
}

var _ runtime.FreshNode = (*node)(nil)

// Peer is the node as its peers see it.
func (n *node) Peer() targets.Peer { return n.peer }

// Wipe empties the data directory (its contents: it may be a mount point).
func (n *node) Wipe(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running() {
		return fmt.Errorf("node %s: wipe the data of a running node", n.name)
	}
	dir := n.HostDataDir()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("wipe %s: %w", n.name, err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("wipe %s: %w", n.name, err)
		}
	}
	return nil
}

// SetSpec sets the command line of the next Start.
func (n *node) SetSpec(spec targets.NodeSpec) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.args = spec.Args
	n.env = append(append([]string(nil), n.baseEnv...), spec.Env...)
}
