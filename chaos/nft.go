package chaos

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// TableName is the nftables table Faultline owns in a node's namespace;
// healing deletes it whole, so no other rule of the node is touched.
const TableName = "faultline"

// Rules are the packet filters of one node.
type Rules struct {
	// DropFrom drops packets arriving from these addresses.
	DropFrom []netip.Addr
	// DropTo drops packets leaving for these addresses.
	DropTo []netip.Addr
}

// Empty reports whether r filters nothing.
func (r Rules) Empty() bool { return len(r.DropFrom) == 0 && len(r.DropTo) == 0 }

// Firewall installs and removes rules in a node's network namespace.
type Firewall interface {
	Apply(nsPath string, r Rules) error
	Clear(nsPath string) error
}

// NetlinkFirewall talks nftables netlink straight into the namespace (pure Go:
// nothing is needed inside the node's image). It needs the privilege to open
// another process's network namespace.
type NetlinkFirewall struct{}

func withConn(nsPath string, f func(*nftables.Conn) error) error {
	ns, err := os.Open(nsPath)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", nsPath, err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		return fmt.Errorf("nftables in %s: %w", nsPath, err)
	}
	return f(c)
}

// Apply replaces Faultline's table with one holding r, in one transaction.
func (NetlinkFirewall) Apply(nsPath string, r Rules) error {
	return withConn(nsPath, func(c *nftables.Conn) error {
		// Adding before deleting makes the delete valid whether or not the
		// table existed; both happen atomically with the new rules.
		t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
		c.DelTable(t)
		t = c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
		accept := nftables.ChainPolicyAccept
		in := c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		for _, a := range r.DropFrom {
			c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: dropAddr(12, a)})
		}
		for _, a := range r.DropTo {
			c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: dropAddr(16, a)})
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("install rules in %s: %w", nsPath, err)
		}
		return nil
	})
}

// Clear deletes Faultline's table, if any.
func (NetlinkFirewall) Clear(nsPath string) error {
	return withConn(nsPath, func(c *nftables.Conn) error {
		t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
		c.DelTable(t)
		if err := c.Flush(); err != nil {
			return fmt.Errorf("remove rules in %s: %w", nsPath, err)
		}
		return nil
	})
}

// Installed reports whether Faultline's table exists in the namespace.
func (NetlinkFirewall) Installed(nsPath string) (bool, error) {
	var found bool
	err := withConn(nsPath, func(c *nftables.Conn) error {
		ts, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return err
		}
		for _, t := range ts {
			found = found || t.Name == TableName
		}
		return nil
	})
	return found, err
}

// dropAddr matches the IPv4 source (offset 12) or destination (offset 16)
// address and drops the packet.
func dropAddr(offset uint32, a netip.Addr) []expr.Any {
	ip := a.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip[:]},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// parseAddrs parses node addresses, refusing anything but IPv4.
func parseAddrs(addrs ...string) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(addrs))
	var errs []error
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("node address %q is not IPv4", s))
			continue
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}
