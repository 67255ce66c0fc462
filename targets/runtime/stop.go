package runtime

import (
	"context"
	"syscall"
	"time"
)

// Stopper is a node that can be stopped with a signal other than SIGKILL
// (kill:signal=TERM, a graceful stop).
type Stopper interface {
	// Stop sends sig to the node and waits for it to exit, at most grace;
	// then it kills it (SIGKILL) and says so with forced.
	Stop(ctx context.Context, sig syscall.Signal, grace time.Duration) (forced bool, err error)
}
