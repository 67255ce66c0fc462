//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

var (
	_ runtime.Grower    = (*node)(nil)
	_ runtime.AddedNode = (*addedNode)(nil)
)

// addedNode is a node added to a running cluster (member-grow); idx is its
// index among all the cluster's nodes, which names it and its namespace.
type addedNode struct {
	*node
	idx int
}

// AddNode prepares one more node of n's cluster: the next free name (n4 for
// a 3-node cluster), its namespace wired to the run's bridge (or ports of
// its own on loopback), its data directory (on lazyfs when the others are).
// Everything is recorded in the state file before it is made.
func (n *node) AddNode(ctx context.Context) (runtime.AddedNode, error) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("local runtime: add a node to a closed cluster")
	}
	i := len(c.nodes)
	for c.extra[i] != nil {
		i++
	}
	name := runtime.NodeName(i)
	tmpl := c.nodes[0].peer
	peer := targets.Peer{Name: name, Ports: map[string]int{}}
	nsName := ""
	if c.net != nil {
		addr, ns, err := c.net.addNode(i)
		if err != nil {
			return nil, fmt.Errorf("local runtime: add node %s: %w", name, err)
		}
		peer.Host, nsName = addr.String(), ns
		for p, num := range tmpl.Ports {
			peer.Ports[p] = num
		}
	} else {
		peer.Host, peer.Bind = "127.0.0.1", "127.0.0.1"
		var ls []net.Listener
		for p := range tmpl.Ports {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				for _, l := range ls {
					l.Close()
				}
				return nil, fmt.Errorf("local runtime: add node %s: find a free port: %w", name, err)
			}
			ls = append(ls, l)
			peer.Ports[p] = l.Addr().(*net.TCPAddr).Port
		}
		for _, l := range ls {
			l.Close()
		}
	}
	parent := c.dir
	if c.nodeRoot != "" {
		parent = c.nodeRoot
	}
	ndir := filepath.Join(parent, name)
	a := &addedNode{idx: i, node: &node{c: c, name: name, addr: peer.Host, dir: ndir, logPath: filepath.Join(c.dir, name+".log"),
		endpoints: map[string]string{}, peer: peer, nsName: nsName}}
	undo := func(err error) (runtime.AddedNode, error) {
		return nil, errors.Join(fmt.Errorf("local runtime: add node %s: %w", name, err), a.teardown(ctx))
	}
	if err := c.user.nodeDir(ndir); err != nil {
		return undo(err)
	}
	a.peer.DataDir = filepath.Join(ndir, "data")
	if err := a.prepareDisk(c.lazy); err != nil {
		return undo(err)
	}
	for p, num := range peer.Ports {
		a.endpoints[p] = "http://" + net.JoinHostPort(peer.Host, strconv.Itoa(num))
	}
	a.baseEnv = []string{runtime.EnvRun + "=" + c.runID, "FAULTLINE_NODE=" + name, "HOME=" + ndir,
		runtime.EnvClock + "=" + a.clockPath()}
	a.env = append([]string(nil), a.baseEnv...)
	if c.extra == nil {
		c.extra = map[int]*node{}
	}
	c.extra[i] = a.node
	c.added = append(c.added, a.node)
	return a, nil
}

// Remove kills the added node and removes its namespace, mount and data
// directory; its log stays in the run's directory for Close to save.
func (a *addedNode) Remove(ctx context.Context) error {
	err := a.teardown(ctx)
	a.c.mu.Lock()
	delete(a.c.extra, a.idx)
	a.c.mu.Unlock()
	return err
}

func (a *addedNode) teardown(ctx context.Context) error {
	var errs []error
	if err := a.Kill(ctx); err != nil {
		errs = append(errs, err)
	}
	st := a.c.st
	if a.lazy != nil {
		if err := a.lazy.Close(ctx); err != nil {
			errs = append(errs, err)
		} else {
			mnt := a.HostDataDir()
			st.mu.Lock()
			st.Mounts = slices.DeleteFunc(st.Mounts, func(m string) bool { return m == mnt })
			st.mu.Unlock()
		}
	}
	if a.c.net != nil {
		if err := a.c.net.removeNode(a.idx); err != nil {
			errs = append(errs, err)
		}
	}
	st.mu.Lock()
	delete(st.Pids, a.name)
	st.mu.Unlock()
	if err := st.save(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(a.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", a.dir, err))
	}
	return errors.Join(errs...)
}
