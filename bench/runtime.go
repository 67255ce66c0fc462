package bench

import (
	"context"
	"fmt"

	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
)

// checkRuntime refuses an unknown --runtime before anything is launched.
func checkRuntime(name string) error {
	switch name {
	case "docker":
		return nil
	}
	return fmt.Errorf("unknown runtime %q (known: docker)", name)
}

// newRuntime connects to the runtime called name.
func newRuntime(ctx context.Context, name string) (runtime.Runtime, error) {
	switch name {
	case "docker":
		return docker.New(ctx)
	}
	return nil, fmt.Errorf("unknown runtime %q", name)
}
