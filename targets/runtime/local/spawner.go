//go:build linux

package local

import (
	"errors"
	"fmt"
	goruntime "runtime"

	"github.com/vishvananda/netns"
)

// spawner runs functions on one OS thread that lives as long as the cluster.
//
// Two reasons. Pdeathsig kills a child when the thread that forked it exits,
// not the process; Go may retire a thread, so children are forked from a
// thread that stays. And entering a node's namespace is per thread: the
// spawner enters it, forks (the child inherits the namespace), and returns
// to the host's namespace before it does anything else.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	nsPath string
	fn     func() error
	res    chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	ready := make(chan struct{})
	go s.loop(ready)
	<-ready
	return s
}

func (s *spawner) loop(ready chan<- struct{}) {
	defer close(s.done)
	goruntime.LockOSThread()
	home, err := netns.Get()
	close(ready)
	broken := err != nil
	if err != nil {
		err = fmt.Errorf("spawner: read the host network namespace: %w", err)
	}
	for req := range s.reqs {
		if broken {
			req.res <- errors.Join(errors.New("spawner thread unusable"), err)
			continue
		}
		var rerr error
		rerr, broken = s.run(home, req)
		if broken {
			err = rerr
		}
		req.res <- rerr
	}
	if !broken {
		home.Close()
		goruntime.UnlockOSThread()
	}
	// A thread whose namespace could not be restored exits with the
	// goroutine (it stays locked), so it cannot serve anybody else.
}

// run calls req.fn, inside req.nsPath when set, and always comes back to
// home (fn may also switch namespaces, e.g. to create one). broken says the
// thread could not come back.
func (s *spawner) run(home netns.NsHandle, req spawnReq) (err error, broken bool) {
	if req.nsPath != "" {
		h, err := netns.GetFromPath(req.nsPath)
		if err != nil {
			return fmt.Errorf("open %s: %w", req.nsPath, err), false
		}
		err = netns.Set(h)
		h.Close()
		if err != nil {
			return fmt.Errorf("enter %s: %w", req.nsPath, err), false
		}
	}
	err = req.fn()
	if rerr := netns.Set(home); rerr != nil {
		return errors.Join(err, fmt.Errorf("return to the host network namespace: %w", rerr)), true
	}
	return err, false
}

// do runs fn on the spawner's thread, inside the namespace at nsPath ("" for
// the host's).
func (s *spawner) do(nsPath string, fn func() error) error {
	res := make(chan error, 1)
	select {
	case s.reqs <- spawnReq{nsPath: nsPath, fn: fn, res: res}:
	case <-s.done:
		return errors.New("cluster closed")
	}
	return <-res
}

// stop ends the thread; call it only once no child it started still runs.
func (s *spawner) stop() {
	select {
	case <-s.done:
	default:
		close(s.reqs)
		<-s.done
	}
}
