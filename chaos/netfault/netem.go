package netfault

import (
	"errors"
	"fmt"
	"net"
	goruntime "runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNoNetem says the kernel cannot delay packets: it has no netem queueing
// discipline (sch_netem), built in or as a module.
var ErrNoNetem = errors.New("this kernel has no tc netem (sch_netem): delay and jitter are unavailable here")

func withHandle(nsPath string, f func(*netlink.Handle) error) error {
	var h *netlink.Handle
	var err error
	if nsPath == "" {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		var ns netns.NsHandle
		ns, err = netns.GetFromPath(nsPath)
		if err != nil {
			return fmt.Errorf("open network namespace %s: %w", nsPath, err)
		}
		defer ns.Close()
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	}
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsName(nsPath), err)
	}
	defer h.Close()
	return f(h)
}

func usec(d time.Duration) uint32 { return uint32(d / time.Microsecond) }

func netem(link int, delay, jitter time.Duration) *netlink.Netem {
	return netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: link, Parent: netlink.HANDLE_ROOT, Handle: netlink.MakeHandle(0xfa17, 0)},
		netlink.NetemQdiscAttrs{Latency: usec(delay), Jitter: usec(jitter)})
}

func netemErr(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
		return ErrNoNetem
	}
	return err
}

// setDelay puts a netem root queueing discipline on every interface but
// loopback.
func setDelay(nsPath string, delay, jitter time.Duration) error {
	return withHandle(nsPath, func(h *netlink.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("list interfaces in %s: %w", nsName(nsPath), err)
		}
		for _, l := range links {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback != 0 {
				continue
			}
			if err := h.QdiscReplace(netem(a.Index, delay, jitter)); err != nil {
				return fmt.Errorf("delay %s in %s: %w", a.Name, nsName(nsPath), netemErr(err))
			}
		}
		return nil
	})
}

// clearDelay removes netem root queueing disciplines, restoring the
// interface's default.
func clearDelay(nsPath string) error {
	return withHandle(nsPath, func(h *netlink.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("list interfaces in %s: %w", nsName(nsPath), err)
		}
		var errs []error
		for _, l := range links {
			qs, err := h.QdiscList(l)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, q := range qs {
				if q.Type() == "netem" && q.Attrs().Parent == netlink.HANDLE_ROOT {
					if err := h.QdiscDel(q); err != nil {
						errs = append(errs, fmt.Errorf("remove delay on %s: %w", l.Attrs().Name, err))
					}
				}
			}
		}
		return errors.Join(errs...)
	})
}

// ProbeNetem adds a netem queueing discipline to the loopback interface of the
// namespace at nsPath ("" is the caller's own) and removes it again. It
// returns ErrNoNetem when the kernel has no netem. Use it only in a namespace
// that nothing else uses (CheckNetem makes one).
func ProbeNetem(nsPath string) error {
	return withHandle(nsPath, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find loopback: %w", err)
		}
		q := netem(lo.Attrs().Index, time.Millisecond, 0)
		if err := h.QdiscAdd(q); err != nil {
			err = netemErr(err)
			if errors.Is(err, ErrNoNetem) {
				return err
			}
			return fmt.Errorf("cannot check for tc netem: %w", err)
		}
		return h.QdiscDel(q)
	})
}

// CheckNetem tells whether the kernel has netem by trying it in a throwaway
// network namespace. It needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
func CheckNetem() error {
	scratch, err := newScratchNS()
	if err != nil {
		return fmt.Errorf("cannot check for tc netem: %w", err)
	}
	defer scratch.Close()
	return ProbeNetem(fmt.Sprintf("/proc/self/fd/%d", int(scratch)))
}

// newScratchNS creates a new network namespace and returns a handle to it,
// leaving the calling thread where it was.
func newScratchNS() (netns.NsHandle, error) {
	goruntime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return netns.None(), err
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		goruntime.UnlockOSThread()
		return netns.None(), fmt.Errorf("create a network namespace (needs root): %w", err)
	}
	if err := netns.Set(orig); err != nil {
		// The thread is in the wrong namespace: keep it locked so the Go
		// runtime discards it instead of reusing it.
		ns.Close()
		return netns.None(), err
	}
	goruntime.UnlockOSThread()
	return ns, nil
}
