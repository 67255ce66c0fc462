//go:build linux

package local

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/faultline/faultline/targets/runtime"
)

var _ runtime.Stopper = (*node)(nil)

// Stop sends sig to the node's process group and waits for the process to
// exit; after grace it is killed.
func (n *node) Stop(ctx context.Context, sig syscall.Signal, grace time.Duration) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running() {
		return false, nil
	}
	if err := n.signal(sig); err != nil {
		return false, err
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-n.exited:
		return false, nil
	case <-ctx.Done():
		return false, fmt.Errorf("stop %s: %w", n.name, ctx.Err())
	case <-t.C:
	}
	if err := n.signal(syscall.SIGKILL); err != nil && n.running() {
		return true, err
	}
	select {
	case <-n.exited:
		return true, nil
	case <-ctx.Done():
		return true, fmt.Errorf("kill %s: %w", n.name, ctx.Err())
	}
}
