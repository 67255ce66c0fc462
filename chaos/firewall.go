package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// needs root on the host that runs the nodes.
type NetlinkFirewall struct{}

func (NetlinkFirewall) Name() string { return "netns" }

func (NetlinkFirewall) Apply(ctx context.Context, n runtime.Node, r netfault.Rules) error {
	ns, err := n.NetNS(ctx)
	if err != nil {
		return err
	}
	if err := netfault.Apply(ns, r); err != nil {
		return fmt.Errorf("%s: %w", n.Name(), err)
	}
	return nil
}

func (NetlinkFirewall) Clear(ctx context.Context, n runtime.Node) error {
	ns, err := n.NetNS(ctx)
	if err != nil {
		return err
	}
	if err := netfault.Clear(ns); err != nil {
		return fmt.Errorf("%s: %w", n.Name(), err)
	}
	return nil
}

func (NetlinkFirewall) Installed(ctx context.Context, n runtime.Node) (bool, error) {
	ns, err := n.NetNS(ctx)
	if err != nil {
		return false, err
	}
	return netfault.Installed(ns)
}

func (NetlinkFirewall) Close(context.Context) error { return nil }

// CheckNetNS tells whether this process can enter a node's network namespace
// and use nftables there (root on the host that runs the node).
func CheckNetNS(ctx context.Context, n runtime.Node) error {
	ns, err := n.NetNS(ctx)
	if err != nil {
		return err
	}
	if _, err := netfault.Installed(ns); err != nil {
		return fmt.Errorf("cannot use nftables in %s's network namespace (needs root): %w", n.Name(), err)
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
