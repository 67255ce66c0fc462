//go:build linux

package local

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/faultline/faultline/targets/runtime"
)

// nsDir is where named network namespaces are bind-mounted (as `ip netns`
// does, so `ip netns list` shows them).
const nsDir = "/run/netns"

// Names. Interface names have at most 15 bytes: "fl" + 8 + 4 fits.
func switchNS(runID string) string      { return "faultline-" + runID + "-sw" }
func nodeNS(runID string, i int) string { return fmt.Sprintf("faultline-%s-n%d", runID, i+1) }
func hostLink(runID string) string      { return "fl" + runtime.ShortID(runID) + "h" }
func hostPeerLink(runID string) string  { return "fl" + runtime.ShortID(runID) + "hs" }
func bridgeLink(runID string) string    { return "fl" + runtime.ShortID(runID) + "br" }
func switchLink(runID string, i int) string {
	return fmt.Sprintf("fl%ss%d", runtime.ShortID(runID), i+1)
}
func nodeLink(runID string, i int) string { return fmt.Sprintf("fl%sn%d", runtime.ShortID(runID), i+1) }

// network is the namespaces and links of one run.
type network struct {
	sp     *spawner
	st     *state
	runID  string
	subnet netip.Prefix
	host   netip.Addr
	addrs  []netip.Addr
	nodeNS []string
}

// setupNetwork creates the switch namespace with its bridge, the host's veth
// into it, and one namespace per node wired to the bridge. Each name is
// recorded in the state file before it is created.
func setupNetwork(sp *spawner, st *state, runID string, nodes int) (_ *network, err error) {
	subnet, err := pickSubnet(runID)
	if err != nil {
		return nil, err
	}
	n := &network{sp: sp, st: st, runID: runID, subnet: subnet}
	a := subnet.Addr()
	a = a.Next() // .1: the host
	n.host = a
	for range nodes {
		a = a.Next()
		n.addrs = append(n.addrs, a)
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("set up the network namespaces: %w", err), n.teardown())
		}
	}()
	st.Subnet = subnet.String()
	sw, err := n.newNS(switchNS(runID))
	if err != nil {
		return nil, err
	}
	defer sw.Close()
	swh, err := netlink.NewHandleAt(sw)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", switchNS(runID), err)
	}
	defer swh.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeLink(runID)}}
	if err := swh.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("add bridge %s: %w", br.Name, err)
	}
	if err := swh.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("bring up %s: %w", br.Name, err)
	}

	// The host's way in: a veth whose far end is a port of the bridge.
	st.Links = append(st.Links, hostLink(runID))
	if err := st.save(); err != nil {
		return nil, err
	}
	hv := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostLink(runID)}, PeerName: hostPeerLink(runID),
		PeerNamespace: netlink.NsFd(sw)}
	if err := netlink.LinkAdd(hv); err != nil {
		return nil, fmt.Errorf("add veth %s: %w", hv.Name, err)
	}
	if err := addrUp(&netlink.Handle{}, hostLink(runID), netip.PrefixFrom(n.host, subnet.Bits())); err != nil {
		return nil, err
	}
	if err := portUp(swh, hostPeerLink(runID), br); err != nil {
		return nil, err
	}

	for i := range nodes {
		if err := n.wireNode(swh, br, i); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// wireNode creates node i's namespace (recorded first) and its veth, one end
// a port of the bridge in the switch, the other in the node's namespace with
// the node's address; and brings up its loopback.
func (n *network) wireNode(swh *netlink.Handle, br *netlink.Bridge, i int) error {
	name := nodeNS(n.runID, i)
	h, err := n.newNS(name)
	if err != nil {
		return err
	}
	defer h.Close()
	n.nodeNS = append(n.nodeNS, name)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: switchLink(n.runID, i)}, PeerName: nodeLink(n.runID, i),
		PeerNamespace: netlink.NsFd(h)}
	if err := swh.LinkAdd(v); err != nil {
		return fmt.Errorf("add veth %s: %w", v.Name, err)
	}
	if err := portUp(swh, v.Name, br); err != nil {
		return err
	}
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", name, err)
	}
	defer nh.Close()
	if err := addrUp(nh, nodeLink(n.runID, i), netip.PrefixFrom(n.addrs[i], n.subnet.Bits())); err != nil {
		return err
	}
	lo, err := nh.LinkByName("lo")
	if err == nil {
		err = nh.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring up lo in %s: %w", name, err)
	}
	return nil
}

// addNode wires one more node, i, to the running cluster's bridge
// (member-grow): the next address of the subnet, a namespace of its own.
func (n *network) addNode(i int) (netip.Addr, string, error) {
	a := n.host
	for range i + 1 {
		a = a.Next()
	}
	if !n.subnet.Contains(a) || a.As4()[3] == 255 {
		return netip.Addr{}, "", fmt.Errorf("no address left in %s for node %d", n.subnet, i+1)
	}
	for len(n.addrs) <= i {
		n.addrs = append(n.addrs, netip.Addr{})
	}
	n.addrs[i] = a
	sw, err := netns.GetFromName(switchNS(n.runID))
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("open network namespace %s: %w", switchNS(n.runID), err)
	}
	defer sw.Close()
	swh, err := netlink.NewHandleAt(sw)
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("netlink in %s: %w", switchNS(n.runID), err)
	}
	defer swh.Close()
	l, err := swh.LinkByName(bridgeLink(n.runID))
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("find bridge %s: %w", bridgeLink(n.runID), err)
	}
	br, ok := l.(*netlink.Bridge)
	if !ok {
		return netip.Addr{}, "", fmt.Errorf("%s is not a bridge", bridgeLink(n.runID))
	}
	if err := n.wireNode(swh, br, i); err != nil {
		return netip.Addr{}, "", errors.Join(err, n.removeNode(i))
	}
	return a, nodeNS(n.runID, i), nil
}

// removeNode deletes node i's namespace (its veth goes with it) and takes
// it off the state file.
func (n *network) removeNode(i int) error {
	name := nodeNS(n.runID, i)
	if err := removeNetwork([]string{name}, nil); err != nil {
		return err
	}
	n.st.mu.Lock()
	n.st.NetNS = slices.DeleteFunc(n.st.NetNS, func(s string) bool { return s == name })
	n.st.mu.Unlock()
	n.nodeNS = slices.DeleteFunc(n.nodeNS, func(s string) bool { return s == name })
	return n.st.save()
}

// newNS creates a named namespace on the spawner's thread (creating one
// switches the thread into it) and returns a handle to it.
func (n *network) newNS(name string) (netns.NsHandle, error) {
	n.st.mu.Lock()
	n.st.NetNS = append(n.st.NetNS, name)
	n.st.mu.Unlock()
	if err := n.st.save(); err != nil {
		return netns.None(), err
	}
	if err := n.sp.do("", func() error {
		h, err := netns.NewNamed(name)
		if err != nil {
			return err
		}
		return h.Close()
	}); err != nil {
		return netns.None(), fmt.Errorf("create network namespace %s: %w", name, err)
	}
	h, err := netns.GetFromName(name)
	if err != nil {
		return netns.None(), fmt.Errorf("open network namespace %s: %w", name, err)
	}
	return h, nil
}

// addrUp gives link its address and brings it up. A zero Handle works in
// the calling thread's namespace: the host's.
func addrUp(h *netlink.Handle, name string, p netip.Prefix) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}}
	if err := h.AddrAdd(l, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", p, name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring up %s: %w", name, err)
	}
	return nil
}

// portUp attaches link to the bridge and brings it up.
func portUp(h *netlink.Handle, name string, br *netlink.Bridge) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.LinkSetMaster(l, br); err != nil {
		return fmt.Errorf("attach %s to %s: %w", name, br.Name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring up %s: %w", name, err)
	}
	return nil
}

// teardown deletes the namespaces (which takes every link inside with them,
// and so the host's veth, whose peer is in the switch) and any host link
// that survived.
func (n *network) teardown() error {
	return removeNetwork(n.st.NetNS, n.st.Links)
}

func removeNetwork(namespaces, links []string) error {
	var errs []error
	for i := len(namespaces) - 1; i >= 0; i-- {
		if err := netns.DeleteNamed(namespaces[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(nsDir + "/" + namespaces[i]); serr == nil {
				errs = append(errs, fmt.Errorf("delete network namespace %s: %w", namespaces[i], err))
			}
		}
	}
	for _, name := range links {
		if l, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete link %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// pickSubnet chooses a /24 in 10.160.0.0/11 from the run id, skipping any
// that overlaps a route or address of the host (Docker networks, other
// runs).
func pickSubnet(runID string) (netip.Prefix, error) {
	h := fnv.New32a()
	h.Write([]byte(runID))
	seed := h.Sum32()
	var used []netip.Prefix
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list host routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil {
			if p, ok := prefixOf(r.Dst); ok {
				used = append(used, p)
			}
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok {
			used = append(used, p)
		}
	}
	for k := uint32(0); k < 256; k++ {
		v := seed + k*2654435761
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(160 + v%32), byte(v >> 8), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free /24 in 10.160.0.0/11 for the cluster's network")
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false // the default route overlaps everything
	}
	return netip.PrefixFrom(a.Unmap(), bits).Masked(), true
}

// isOurLink says whether a host link name is one the local runtime creates
// for runID (for any run when runID is empty).
func isOurLink(name, runID string) bool {
	if runID != "" {
		return name == hostLink(runID)
	}
	return len(name) == 11 && strings.HasPrefix(name, "fl") && strings.HasSuffix(name, "h") &&
		strings.Trim(name[2:10], "0123456789abcdef") == ""
}

// isRunNS says whether a namespace name is one the local runtime creates for
// runID (for any valid run id when runID is empty): faultline-<id>-sw or
// faultline-<id>-n<i>.
func isRunNS(name, runID string) bool {
	rest, ok := strings.CutPrefix(name, "faultline-")
	if !ok {
		return false
	}
	id, suffix, ok := strings.Cut(rest, "-")
	if !ok || runtime.ValidateRunID(id) != nil || runID != "" && id != runID {
		return false
	}
	if suffix == "sw" {
		return true
	}
	n, ok := strings.CutPrefix(suffix, "n")
	return ok && n != "" && n[0] != '0' && len(n) <= 2 && strings.Trim(n, "0123456789") == ""
}
