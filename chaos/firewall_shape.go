package chaos

import (
	"context"
	"fmt"

	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/targets/runtime"
)

// PacketShaper is a Firewall that can run a netfault.Shaper in a node's
// namespace (packet faults): NetlinkFirewall runs it in this process,
// sidecar.Firewall in the node's agent. Clear stops a node's shaper too,
// so HealAll needs nothing more.
type PacketShaper interface {
	Firewall
	// Shape starts the node's shaper; install the queue rules after it.
	Shape(ctx context.Context, n runtime.Node, req netfault.ShapeRequest) error
	// Unshape removes the node's rules, then stops its shaper (which
	// passes what it still holds) and says what it did.
	Unshape(ctx context.Context, n runtime.Node) (summary string, err error)
}

var _ PacketShaper = (*NetlinkFirewall)(nil)

func (f *NetlinkFirewall) Shape(ctx context.Context, n runtime.Node, req netfault.ShapeRequest) error {
	path, err := n.NetNS(ctx)
	if err != nil {
		return err
	}
	sh, err := netfault.StartShaper(path, req)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name(), err)
	}
	f.mu.Lock()
	if f.shapers == nil {
		f.shapers = map[string]*netfault.Shaper{}
	}
	old := f.shapers[n.Name()]
	f.shapers[n.Name()] = sh
	f.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	return nil
}

func (f *NetlinkFirewall) Unshape(ctx context.Context, n runtime.Node) (string, error) {
	err := f.with(ctx, n, func(h *netfault.Handle) error { return h.Clear() })
	return f.stopShaper(n.Name()), err
}

// stopShaper stops the node's shaper, if any; the rules must be gone.
func (f *NetlinkFirewall) stopShaper(name string) string {
	f.mu.Lock()
	sh := f.shapers[name]
	delete(f.shapers, name)
	f.mu.Unlock()
	if sh == nil {
		return ""
	}
	return sh.Stop()
}
