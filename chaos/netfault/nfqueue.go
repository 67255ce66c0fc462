package netfault

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

// A small NFQUEUE client on netlink: no library of the Go module proxy
// offers one here, and only four messages are needed (bind, copy mode,
// packet, verdict). Constants from linux/netfilter/nfnetlink_queue.h.
const (
	netlinkNetfilter = 12 // NETLINK_NETFILTER
	subsysQueue      = 3  // NFNL_SUBSYS_QUEUE

	msgPacket       = 0 // NFQNL_MSG_PACKET
	msgVerdict      = 1 // NFQNL_MSG_VERDICT
	msgConfig       = 2 // NFQNL_MSG_CONFIG
	msgVerdictBatch = 3 // NFQNL_MSG_VERDICT_BATCH

	cfgCmd     = 1 // NFQA_CFG_CMD
	cfgParams  = 2 // NFQA_CFG_PARAMS
	cfgMaxLen  = 3 // NFQA_CFG_QUEUE_MAXLEN
	cfgMask    = 4 // NFQA_CFG_MASK
	cfgFlags   = 5 // NFQA_CFG_FLAGS
	cmdBind    = 1 // NFQNL_CFG_CMD_BIND
	copyPacket = 2 // NFQNL_COPY_PACKET

	attrPacketHdr  = 1  // NFQA_PACKET_HDR
	attrVerdictHdr = 2  // NFQA_VERDICT_HDR
	attrPayload    = 10 // NFQA_PAYLOAD

	// Verdicts (NF_DROP, NF_ACCEPT).
	VerdictDrop   = 0
	VerdictAccept = 1
)

// QueueNum is the NFQUEUE number Faultline uses in a node's namespace
// (queues belong to a namespace, so every node can use the same one).
const QueueNum = 0xfa17

// SkipMark is the packet mark that Faultline's queue rules let through:
// copies it sends itself (duplicates) must not be queued again.
const SkipMark = 0xfa17

// Packet is one packet the kernel handed to the queue, waiting for its
// verdict.
type Packet struct {
	ID      uint32
	Payload []byte // the IPv4 packet, header included
	// At is when it was read from the queue.
	At time.Time
}

// Queue is an NFQUEUE bound inside one network namespace.
type Queue struct {
	num  uint16
	conn *netlink.Conn
	raw  *socket.Conn
	// buf and rc are the reader's (one goroutine reads).
	buf []byte
	rc  syscall.RawConn
}

// OpenQueue binds queue num inside the namespace at nsPath ("" is the
// caller's own) with full packet copies, and opens a raw socket there for
// sending copies (duplicates). It needs CAP_NET_ADMIN and CAP_NET_RAW in the
// namespace.
func OpenQueue(nsPath string, num uint16) (_ *Queue, err error) {
	var fd int
	if nsPath != "" {
		ns, err := os.Open(nsPath)
		if err != nil {
			return nil, fmt.Errorf("open network namespace %s: %w", nsPath, err)
		}
		defer ns.Close()
		fd = int(ns.Fd())
	}
	c, err := netlink.Dial(netlinkNetfilter, &netlink.Config{NetNS: fd})
	if err != nil {
		return nil, fmt.Errorf("nfnetlink in %s: %w", nsName(nsPath), err)
	}
	q := &Queue{num: num, conn: c}
	defer func() {
		if err != nil {
			q.Close()
		}
	}()
	// Delayed packets wait in the kernel, not here: the queue must hold a
	// whole delay's worth of them, and the socket their copies.
	_ = c.SetReadBuffer(16 << 20)
	_ = c.SetOption(netlink.NoENOBUFS, true)
	if err := q.config(netlink.NewAttributeEncoder(), func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cfgCmd, []byte{cmdBind, 0, 0, unix.AF_INET})
	}); err != nil {
		return nil, fmt.Errorf("bind nfqueue %d in %s: %w", num, nsName(nsPath), err)
	}
	if err := q.config(netlink.NewAttributeEncoder(), func(ae *netlink.AttributeEncoder) {
		p := make([]byte, 5)
		binary.BigEndian.PutUint32(p, 0xffff)
		p[4] = copyPacket
		ae.Bytes(cfgParams, p)
		ae.Uint32(cfgMaxLen, 1<<16)
		// No fail-open: a full queue drops, as a full link does.
		ae.Uint32(cfgMask, 0)
		ae.Uint32(cfgFlags, 0)
	}); err != nil {
		return nil, fmt.Errorf("configure nfqueue %d in %s: %w", num, nsName(nsPath), err)
	}
	raw, err := socket.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW, "raw", &socket.Config{NetNS: fd})
	if err != nil {
		return nil, fmt.Errorf("raw socket in %s: %w", nsName(nsPath), err)
	}
	q.raw = raw
	if err := raw.SetsockoptInt(unix.SOL_SOCKET, unix.SO_MARK, SkipMark); err != nil {
		return nil, fmt.Errorf("mark the raw socket in %s: %w", nsName(nsPath), err)
	}
	return q, nil
}

func (q *Queue) config(ae *netlink.AttributeEncoder, f func(*netlink.AttributeEncoder)) error {
	f(ae)
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = q.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(subsysQueue<<8 | msgConfig),
			Flags: netlink.Request | netlink.Acknowledge},
		Data: append(q.nfgen(), b...),
	})
	return err
}

// nfgen is the nfgenmsg header: family, version 0, the queue number
// (big-endian).
func (q *Queue) nfgen() []byte {
	return []byte{unix.AF_UNSPEC, 0, byte(q.num >> 8), byte(q.num)}
}

// Close unbinds the queue (the kernel drops what it still holds for it:
// callers give their verdicts first) and closes the sockets.
func (q *Queue) Close() error {
	var errs []error
	if q.conn != nil {
		errs = append(errs, q.conn.Close())
	}
	if q.raw != nil {
		errs = append(errs, q.raw.Close())
	}
	return errors.Join(errs...)
}

// Read returns the next packets, blocking until there are some or the
// queue is closed (or its read deadline passes).
func (q *Queue) Read() ([]Packet, error) { return q.read(true) }

// TryRead returns the packets already queued, nil when there are none.
func (q *Queue) TryRead() ([]Packet, error) { return q.read(false) }

// read receives one datagram into a buffer of the queue's own: the
// netlink library peeks at each message's size first, a system call per
// packet that the queue cannot afford.
func (q *Queue) read(wait bool) ([]Packet, error) {
	if q.buf == nil {
		q.buf = make([]byte, 1<<17)
	}
	if q.rc == nil {
		rc, err := q.conn.SyscallConn()
		if err != nil {
			return nil, err
		}
		q.rc = rc
	}
	var n int
	var rerr error
	empty := false
	err := q.rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), q.buf, 0)
		if rerr == unix.EAGAIN || rerr == unix.EWOULDBLOCK {
			if !wait {
				empty, rerr = true, nil
				return true
			}
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if rerr == unix.ENOBUFS {
		return nil, nil // the kernel dropped some: the queue goes on
	}
	if rerr != nil {
		return nil, rerr
	}
	if empty || n <= 0 {
		return nil, nil
	}
	msgs := parseMessages(q.buf[:n])
	now := time.Now()
	var out []Packet
	for _, m := range msgs {
		if m.typ != subsysQueue<<8|msgPacket || len(m.data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.data[4:])
		if err != nil {
			continue
		}
		ad.ByteOrder = binary.BigEndian
		var p Packet
		ok := false
		for ad.Next() {
			switch ad.Type() {
			case attrPacketHdr:
				if b := ad.Bytes(); len(b) >= 4 {
					p.ID, ok = binary.BigEndian.Uint32(b), true
				}
			case attrPayload:
				p.Payload = ad.Bytes() // a copy: the buffer is reused
			}
		}
		if ok {
			p.At = now
			out = append(out, p)
		}
	}
	return out, nil
}

type message struct {
	typ  uint16
	data []byte
}

// parseMessages splits a netlink datagram into its messages. The last one
// may lack its alignment padding, which syscall.ParseNetlinkMessage
// refuses.
func parseMessages(b []byte) []message {
	var out []message
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			break
		}
		out = append(out, message{typ: binary.NativeEndian.Uint16(b[4:]), data: b[unix.NLMSG_HDRLEN:l]})
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
	}
	return out
}

// AcceptUpTo accepts, in one message, every packet still queued whose id
// is at most id (NFQNL_MSG_VERDICT_BATCH).
func (q *Queue) AcceptUpTo(id uint32) error {
	return q.verdict(msgVerdictBatch, id, VerdictAccept, nil)
}

// Verdict tells the kernel what to do with packet id; a non-nil payload
// replaces the packet's contents (the corruption fault).
func (q *Queue) Verdict(id uint32, verdict uint32, payload []byte) error {
	return q.verdict(msgVerdict, id, verdict, payload)
}

func (q *Queue) verdict(msg int, id uint32, verdict uint32, payload []byte) error {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	vh := make([]byte, 8)
	binary.BigEndian.PutUint32(vh, verdict)
	binary.BigEndian.PutUint32(vh[4:], id)
	ae.Bytes(attrVerdictHdr, vh)
	if payload != nil {
		ae.Bytes(attrPayload, payload)
	}
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = q.conn.Send(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(subsysQueue<<8 | msg), Flags: netlink.Request},
		Data:   append(q.nfgen(), b...),
	})
	return err
}

// Send puts a copy of an IPv4 packet on the wire from the namespace,
// marked so that Faultline's rules do not queue it again.
func (q *Queue) Send(pkt []byte) error {
	if len(pkt) < 20 {
		return errors.New("not an IPv4 packet")
	}
	to := &unix.SockaddrInet4{}
	copy(to.Addr[:], pkt[16:20])
	return q.raw.Sendto(context.Background(), pkt, 0, to)
}

// SetReadDeadline makes a blocked Read return once t has passed.
func (q *Queue) SetReadDeadline(t time.Time) error { return q.conn.SetReadDeadline(t) }

// ErrNoQueue says the kernel cannot queue packets to user space: no
// nfnetlink_queue, or no NFQUEUE target for nftables to run.
var ErrNoQueue = errors.New("this kernel cannot queue packets to user space (nfnetlink_queue and the NFQUEUE target): packet faults are unavailable here")

// CheckQueue tells whether packet faults can work here by binding a queue
// and installing a queue rule in a throwaway network namespace. It needs
// root.
func CheckQueue() error {
	scratch, err := newScratchNS()
	if err != nil {
		return fmt.Errorf("cannot check for NFQUEUE: %w", err)
	}
	defer scratch.Close()
	return ProbeQueue(fmt.Sprintf("/proc/self/fd/%d", int(scratch)))
}

// ProbeQueue binds a queue and installs (then removes) a queue rule in the
// namespace at nsPath ("" is the caller's own; use one nothing else uses).
// It returns an error wrapping ErrNoQueue when the kernel cannot.
func ProbeQueue(nsPath string) error {
	q, err := OpenQueue(nsPath, QueueNum)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoQueue, err)
	}
	defer q.Close()
	if err := Apply(nsPath, Rules{QueueTo: []netip.Addr{netip.MustParseAddr("127.0.0.2")}}); err != nil {
		return fmt.Errorf("%w: %v", ErrNoQueue, err)
	}
	return Clear(nsPath)
}
