package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/local"
)

// Runtime names (--runtime).
const (
	RuntimeAuto   = "auto" // docker when an engine answers, else local
	RuntimeDocker = "docker"
	RuntimeLocal  = "local"
)

// Namespace modes of the local runtime (--netns).
const (
	NetnsAuto = "auto" // on when running as root
	NetnsOn   = "on"
	NetnsOff  = "off"
)

// checkRuntime refuses an unknown runtime, or namespaces that cannot be had,
// before anything is launched.
func checkRuntime(c ClusterConfig) error {
	switch c.Runtime {
	case RuntimeAuto, RuntimeDocker, RuntimeLocal:
	default:
		return fmt.Errorf("unknown runtime %q (known: auto, docker, local)", c.Runtime)
	}
	switch c.Netns {
	case "", NetnsAuto, NetnsOff:
	case NetnsOn:
		if c.Runtime == RuntimeDocker {
			return fmt.Errorf("--netns on is for the local runtime; docker nodes always have their own network")
		}
		if !local.CanUseNamespaces() {
			return fmt.Errorf("--netns on needs root (the local runtime creates network namespaces)")
		}
	default:
		return fmt.Errorf("unknown --netns %q (known: auto, on, off)", c.Netns)
	}
	if c.Runtime != RuntimeDocker {
		// The local runtime keeps its state there; refused before launching.
		if err := runtime.CheckStateDir(runtime.StateDir()); err != nil {
			return err
		}
		if err := local.CheckNodeUser(c.NodeUser); err != nil {
			return err
		}
	}
	return nil
}

// newRuntime connects to the runtime c names; auto takes docker when an
// engine answers and falls back to local processes otherwise.
func newRuntime(ctx context.Context, c ClusterConfig, logf func(string, ...any)) (runtime.Runtime, error) {
	switch c.Runtime {
	case RuntimeDocker:
		return docker.New(ctx)
	case RuntimeLocal:
		return newLocal(c)
	case RuntimeAuto:
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rt, err := docker.New(dctx)
		if err == nil {
			return rt, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		logf("no Docker engine answers (%v): nodes run as local processes", err)
		return newLocal(c)
	}
	return nil, fmt.Errorf("unknown runtime %q", c.Runtime)
}

func newLocal(c ClusterConfig) (*local.Runtime, error) {
	opts := []local.Option{local.WithNodeUser(c.NodeUser)}
	switch c.Netns {
	case NetnsOn:
		opts = append(opts, local.WithNamespaces(true))
	case NetnsOff:
		opts = append(opts, local.WithNamespaces(false))
	}
	return local.New(opts...)
}

// NewRuntime is newRuntime for commands other than run (cluster up); c must
// have passed validation.
func NewRuntime(ctx context.Context, c ClusterConfig, logf func(string, ...any)) (runtime.Runtime, error) {
	if err := checkRuntime(c); err != nil {
		return nil, &ConfigError{Err: err}
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return newRuntime(ctx, c, logf)
}

// resolvedNetns is what scenario.json records for the namespaces of rt.
func resolvedNetns(rt runtime.Runtime) string {
	if l, ok := rt.(*local.Runtime); ok {
		if l.Namespaces() {
			return NetnsOn
		}
		return NetnsOff
	}
	return ""
}

// Clean removes what runs left behind in every runtime: of runID, or of
// every run when runID is empty. Docker is skipped, and says so, when no
// engine answers.
func Clean(ctx context.Context, runID string) (removed []string, skipped []string, err error) {
	if runID != "" {
		if err := runtime.ValidateRunID(runID); err != nil {
			return nil, nil, &ConfigError{Err: err}
		}
	}
	var errs []error
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	d, derr := docker.New(dctx)
	cancel()
	if derr != nil {
		skipped = append(skipped, "docker: "+derr.Error())
	} else {
		r, err := d.Clean(ctx, runID)
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	l, lerr := local.New(local.WithNamespaces(false))
	if lerr != nil {
		skipped = append(skipped, "local: "+lerr.Error())
	} else {
		r, err := l.Clean(ctx, runID)
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	return removed, skipped, errors.Join(errs...)
}
