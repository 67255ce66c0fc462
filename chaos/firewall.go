package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/targets/runtime"
)

// Firewall installs and removes network faults (netfault.Rules) in a node's
// network namespace.
type Firewall interface {
	// Name says how rules reach the node ("netns", "sidecar").
	Name() string
	// Apply replaces Faultline's rules in the node with r.
	Apply(ctx context.Context, n runtime.Node, r netfault.Rules) error
	// Clear removes every rule and delay Faultline installed in the node.
	Clear(ctx context.Context, n runtime.Node) error
	// Installed reports whether Faultline's table exists in the node.
	Installed(ctx context.Context, n runtime.Node) (bool, error)
	// Close releases what the firewall holds (sidecars).
	Close(ctx context.Context) error
}

// NetlinkFirewall enters each node's network namespace from this process
// (the path runtime.Node.NetNS gives) and talks nftables netlink there. It
// needs root on the host that runs the nodes. It keeps one connection per
// node's namespace, checked before each use (the namespace file must still
// be the same one) and dropped when the node restarts (Rearm).
type NetlinkFirewall struct {
	mu    sync.Mutex
	nodes map[string]*nsConn
	// shapers run packet faults in the nodes' namespaces (firewall_shape.go).
	shapers map[string]*netfault.Shaper
}

type nsConn struct {
	mu   sync.Mutex
	path string
	ino  uint64
	h    *netfault.Handle
}

// NewNetlinkFirewall returns a firewall that enters the nodes' namespaces.
func NewNetlinkFirewall() *NetlinkFirewall { return &NetlinkFirewall{nodes: map[string]*nsConn{}} }

func (*NetlinkFirewall) Name() string { return "netns" }

// Start opens every node's connection ahead of the first fault (and so
// tells early whether this process may enter the namespaces at all).
func (f *NetlinkFirewall) Start(ctx context.Context, nodes []runtime.Node) error {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { errs[i] = f.with(ctx, n, func(*netfault.Handle) error { return nil }) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot use nftables in the nodes' network namespaces (needs root): %w", err)
	}
	return nil
}

// with runs f on the node's connection, opening it when needed.
func (f *NetlinkFirewall) with(ctx context.Context, n runtime.Node, do func(*netfault.Handle) error) error {
	f.mu.Lock()
	c := f.nodes[n.Name()]
	if c == nil {
		c = &nsConn{}
		f.nodes[n.Name()] = c
	}
	f.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h != nil && nsIno(c.path) != c.ino {
		c.h.Close()
		c.h = nil
	}
	if c.h == nil {
		path, err := n.NetNS(ctx)
		if err != nil {
			return err
		}
		h, err := netfault.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name(), err)
		}
		c.path, c.ino, c.h = path, nsIno(path), h
	}
	if err := do(c.h); err != nil {
		return fmt.Errorf("%s: %w", n.Name(), err)
	}
	return nil
}

// nsIno identifies a namespace file (0 if it is gone).
func nsIno(path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

func (f *NetlinkFirewall) Apply(ctx context.Context, n runtime.Node, r netfault.Rules) error {
	return f.with(ctx, n, func(h *netfault.Handle) error { return h.Apply(r) })
}

func (f *NetlinkFirewall) Clear(ctx context.Context, n runtime.Node) error {
	err := f.with(ctx, n, func(h *netfault.Handle) error { return h.Clear() })
	f.stopShaper(n.Name())
	return err
}

func (f *NetlinkFirewall) Installed(ctx context.Context, n runtime.Node) (found bool, err error) {
	err = f.with(ctx, n, func(h *netfault.Handle) error { found, err = h.Installed(); return err })
	return found, err
}

// Rearm forgets the connections of nodes that restarted (a new namespace).
func (f *NetlinkFirewall) Rearm(_ context.Context, nodes []runtime.Node) {
	for _, n := range nodes {
		f.forget(n.Name())
	}
}

func (f *NetlinkFirewall) forget(name string) {
	f.mu.Lock()
	c := f.nodes[name]
	delete(f.nodes, name)
	f.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		if c.h != nil {
			c.h.Close()
			c.h = nil
		}
		c.mu.Unlock()
	}
}

// Close releases every connection.
func (f *NetlinkFirewall) Close(context.Context) error {
	f.mu.Lock()
	var names []string
	for name := range f.nodes {
		names = append(names, name)
	}
	f.mu.Unlock()
	for _, name := range names {
		f.forget(name)
		f.stopShaper(name)
	}
	return nil
}

// applyAll installs rules[i] on node i for every node that has rules, all
// at once, and returns how long it took from "inject" to "every rule in
// place". On error every node is cleared again.
func applyAll(ctx context.Context, env *Env, rules []netfault.Rules) (time.Duration, error) {
	if env.Firewall == nil {
		return 0, errors.New("network faults are unavailable: no firewall")
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(env.Nodes))
	for i, n := range env.Nodes {
		if rules[i].Empty() {
			continue
		}
		wg.Go(func() { errs[i] = env.Firewall.Apply(ctx, n, rules[i]) })
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return took, errors.Join(err, clearAll(context.WithoutCancel(ctx), env))
	}
	return took, nil
}

// clearAll removes Faultline's rules from every node at once.
func clearAll(ctx context.Context, env *Env) error {
	var wg sync.WaitGroup
	errs := make([]error, len(env.Nodes))
	for i, n := range env.Nodes {
		wg.Go(func() {
			if err := env.Firewall.Clear(ctx, n); err != nil {
				errs[i] = fmt.Errorf("heal network of %s: %w", n.Name(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
