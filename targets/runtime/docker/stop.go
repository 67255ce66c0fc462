package docker

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/faultline/faultline/targets/runtime"
)

var _ runtime.Stopper = (*node)(nil)

// Stop is docker stop with the signal: the engine waits up to grace (whole
// seconds, rounded up) and then kills the container. An exit code of 137
// (128+SIGKILL) says it had to.
func (n *node) Stop(ctx context.Context, sig syscall.Signal, grace time.Duration) (bool, error) {
	secs := int(math.Ceil(grace.Seconds()))
	if _, err := n.cli.ContainerStop(ctx, n.id, client.ContainerStopOptions{Signal: unix.SignalName(sig), Timeout: &secs}); err != nil {
		return false, fmt.Errorf("stop %s with %s: %w", n.name, unix.SignalName(sig), err)
	}
	res, err := n.cli.ContainerInspect(ctx, n.id, client.ContainerInspectOptions{})
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", n.name, err)
	}
	st := res.Container.State
	return st != nil && st.ExitCode == 128+int(syscall.SIGKILL) && sig != syscall.SIGKILL, nil
}
