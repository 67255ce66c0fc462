// Package netfault installs and removes network faults inside one network
// namespace: nftables rules in a table Faultline owns, and tc netem for delay
// where the kernel has it. It is pure Go (netlink), needs CAP_NET_ADMIN in the
// namespace, and knows nothing of nodes or runtimes, so the same code runs on
// the host (entering a node's namespace) and inside a sidecar container that
// shares the node's namespace.
package netfault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table Faultline owns in a node's namespace;
// healing deletes it whole, so no other rule of the node is touched.
const TableName = "faultline"

// Rules are the network faults of one node. The zero value filters nothing.
type Rules struct {
	// Cut drops every packet from and to these addresses.
	Cut []netip.Addr `json:"cut,omitempty"`
	// NoConnTo drops the connections this node opens to these addresses
	// (every packet of them, both ways); connections they open to this node
	// flow. It relies on connection tracking (ct direction).
	NoConnTo []netip.Addr `json:"no_conn_to,omitempty"`
	// NoConnFrom drops the connections these addresses open to this node.
	NoConnFrom []netip.Addr `json:"no_conn_from,omitempty"`
	// OnlyPeers drops every packet except loopback traffic and traffic from
	// and to Peers: the node keeps its peers but loses everyone else (its
	// clients).
	OnlyPeers bool         `json:"only_peers,omitempty"`
	Peers     []netip.Addr `json:"peers,omitempty"`
	// LossFrom drops LossPercent of the packets arriving from these
	// addresses, at random (nftables numgen random).
	LossFrom    []netip.Addr `json:"loss_from,omitempty"`
	LossPercent int          `json:"loss_percent,omitempty"`
	// Delay (with Jitter) delays every packet the node sends on any
	// interface but loopback, with tc netem.
	Delay  time.Duration `json:"delay,omitempty"`
	Jitter time.Duration `json:"jitter,omitempty"`
	// QueueTo sends the packets the node sends to these addresses to
	// NFQUEUE QueueNum, where Faultline's reader shapes them (packet.go of
	// package chaos), except those marked SkipMark (its own copies). With
	// no reader bound the packets pass (bypass).
	QueueTo []netip.Addr `json:"queue_to,omitempty"`
}

// Empty reports whether r changes nothing.
func (r Rules) Empty() bool {
	return len(r.Cut) == 0 && len(r.NoConnTo) == 0 && len(r.NoConnFrom) == 0 && !r.OnlyPeers &&
		(len(r.LossFrom) == 0 || r.LossPercent <= 0) && r.Delay <= 0 && len(r.QueueTo) == 0
}

func (r Rules) hasNFT() bool {
	return len(r.Cut) > 0 || len(r.NoConnTo) > 0 || len(r.NoConnFrom) > 0 || r.OnlyPeers ||
		(len(r.LossFrom) > 0 && r.LossPercent > 0) || len(r.QueueTo) > 0
}

// Validate refuses rules that cannot be installed.
func (r Rules) Validate() error {
	if r.LossPercent < 0 || r.LossPercent > 100 {
		return fmt.Errorf("loss %d%%: want 0 to 100", r.LossPercent)
	}
	if r.Delay < 0 || r.Jitter < 0 {
		return errors.New("delay and jitter must not be negative")
	}
	for _, l := range [][]netip.Addr{r.Cut, r.NoConnTo, r.NoConnFrom, r.Peers, r.LossFrom, r.QueueTo} {
		for _, a := range l {
			if !a.Is4() {
				return fmt.Errorf("address %v is not IPv4", a)
			}
		}
	}
	return nil
}

// Handle is an nftables netlink connection kept open in one namespace, for
// repeated use: opening one enters the namespace (a thread and a setns),
// which costs more than the transaction itself on a busy machine. It is
// safe for concurrent use.
type Handle struct {
	path string
	mu   sync.Mutex
	conn *nftables.Conn
	// delayed says this handle installed a delay, which Clear removes.
	delayed bool
}

// Open connects to nftables inside the namespace at nsPath ("" is the
// caller's own namespace).
func Open(nsPath string) (*Handle, error) {
	opts := []nftables.ConnOption{nftables.AsLasting()}
	if nsPath != "" {
		ns, err := os.Open(nsPath)
		if err != nil {
			return nil, fmt.Errorf("open network namespace %s: %w", nsPath, err)
		}
		// The socket keeps the namespace; the file is needed only to make it.
		defer ns.Close()
		opts = append(opts, nftables.WithNetNSFd(int(ns.Fd())))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables in %s: %w", nsName(nsPath), err)
	}
	return &Handle{path: nsPath, conn: c}, nil
}

// Close releases the connection.
func (h *Handle) Close() error { return h.conn.CloseLasting() }

func nsName(nsPath string) string {
	if nsPath == "" {
		return "this network namespace"
	}
	return nsPath
}

func once(nsPath string, f func(*Handle) error) error {
	h, err := Open(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	return f(h)
}

// Apply replaces Faultline's rules in the namespace at nsPath with r.
func Apply(nsPath string, r Rules) error {
	return once(nsPath, func(h *Handle) error { return h.Apply(r) })
}

// Clear removes every fault Faultline installed in the namespace at nsPath,
// a delay included, whoever installed it.
func Clear(nsPath string) error {
	return once(nsPath, func(h *Handle) error {
		h.delayed = true
		return h.Clear()
	})
}

// Installed reports whether Faultline's table exists in the namespace at nsPath.
func Installed(nsPath string) (found bool, err error) {
	err = once(nsPath, func(h *Handle) error { found, err = h.Installed(); return err })
	return found, err
}

// Apply replaces Faultline's rules with r: the nftables part in one atomic
// transaction, then netem if r delays.
func (h *Handle) Apply(r Rules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.conn
	// Adding before deleting makes the delete valid whether or not the
	// table existed; both happen atomically with the new rules.
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
	c.DelTable(t)
	if r.hasNFT() {
		t = c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
		accept := nftables.ChainPolicyAccept
		in := c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		for _, e := range inputRules(r) {
			c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: e})
		}
		for _, e := range outputRules(r) {
			c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: e})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("install rules in %s: %w", nsName(h.path), err)
	}
	if r.Delay > 0 {
		h.delayed = true
		return setDelay(h.path, r.Delay, r.Jitter)
	}
	return nil
}

// Clear removes Faultline's table, and the delay if this handle installed
// one.
func (h *Handle) Clear() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName})
	h.conn.DelTable(t)
	var err error
	if ferr := h.conn.Flush(); ferr != nil {
		err = fmt.Errorf("remove rules in %s: %w", nsName(h.path), ferr)
	}
	if h.delayed {
		if derr := clearDelay(h.path); derr != nil {
			return errors.Join(err, derr)
		}
		h.delayed = false
	}
	return err
}

// Installed reports whether Faultline's table exists.
func (h *Handle) Installed() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ts, err := h.conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("list tables in %s: %w", nsName(h.path), err)
	}
	for _, t := range ts {
		if t.Name == TableName {
			return true, nil
		}
	}
	return false, nil
}

func inputRules(r Rules) [][]expr.Any {
	var out [][]expr.Any
	for _, a := range r.Cut {
		out = append(out, rule(matchAddr(offSrc, a), drop()))
	}
	for _, a := range r.NoConnTo {
		out = append(out, rule(matchAddr(offSrc, a), matchDir(ctDirReply), drop()))
	}
	for _, a := range r.NoConnFrom {
		out = append(out, rule(matchAddr(offSrc, a), matchDir(ctDirOriginal), drop()))
	}
	if r.LossPercent > 0 {
		for _, a := range r.LossFrom {
			out = append(out, rule(matchAddr(offSrc, a), matchRandomBelow(uint32(r.LossPercent)), drop()))
		}
	}
	if r.OnlyPeers {
		out = append(out, rule(matchIfname(expr.MetaKeyIIFNAME, "lo"), accept()))
		for _, a := range r.Peers {
			out = append(out, rule(matchAddr(offSrc, a), accept()))
		}
		out = append(out, drop())
	}
	return out
}

func outputRules(r Rules) [][]expr.Any {
	var out [][]expr.Any
	for _, a := range r.Cut {
		out = append(out, rule(matchAddr(offDst, a), drop()))
	}
	for _, a := range r.NoConnTo {
		out = append(out, rule(matchAddr(offDst, a), matchDir(ctDirOriginal), drop()))
	}
	for _, a := range r.NoConnFrom {
		out = append(out, rule(matchAddr(offDst, a), matchDir(ctDirReply), drop()))
	}
	for _, a := range r.QueueTo {
		out = append(out, rule(matchAddr(offDst, a), skipMarked(), queue()))
	}
	if r.OnlyPeers {
		out = append(out, rule(matchIfname(expr.MetaKeyOIFNAME, "lo"), accept()))
		for _, a := range r.Peers {
			out = append(out, rule(matchAddr(offDst, a), accept()))
		}
		out = append(out, drop())
	}
	return out
}

func rule(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Offsets of the IPv4 source and destination addresses in the header.
const (
	offSrc = 12
	offDst = 16
)

func matchAddr(offset uint32, a netip.Addr) []expr.Any {
	ip := a.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip[:]},
	}
}

// matchDir matches the connection-tracking direction of the packet: original
// is the way the connection was opened, reply the way back.
func matchDir(dir uint8) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeyDIRECTION},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{dir}},
	}
}

// matchRandomBelow matches with probability n/100: numgen random mod 100 < n.
// numgen writes host byte order, and cmp compares bytes, so the number is
// turned big-endian first (as nft itself does).
func matchRandomBelow(n uint32) []expr.Any {
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: 100, Type: unix.NFT_NG_RANDOM},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}},
	}
}

func matchIfname(key expr.MetaKey, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

// skipMarked matches packets not marked SkipMark.
func skipMarked() []expr.Any {
	m := make([]byte, 4)
	binary.NativeEndian.PutUint32(m, SkipMark)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: m},
	}
}

// queue hands the packet to NFQUEUE QueueNum; bypass lets it pass when no
// reader is bound (the harness died: the link is healthy, not cut). Many
// kernels (this one) lack nft_queue but have the xtables NFQUEUE target,
// which nftables runs through its compat expression: that is used, with
// struct xt_NFQ_info_v3 {u16 queuenum, queues_total, flags} in host byte
// order, padded to 8 bytes.
func queue() []expr.Any {
	info := make(xt.Unknown, 8)
	binary.NativeEndian.PutUint16(info[0:], QueueNum)
	binary.NativeEndian.PutUint16(info[2:], 1)
	binary.NativeEndian.PutUint16(info[4:], 1) // NFQ_FLAG_BYPASS
	return []expr.Any{&expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}}
}

func drop() []expr.Any   { return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}} }
func accept() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}} }

// Connection-tracking directions (enum ip_conntrack_dir).
const (
	ctDirOriginal = 0
	ctDirReply    = 1
)
