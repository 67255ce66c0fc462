// Package pick chooses the runtime nodes are launched on, for `faultline
// run` and `faultline cluster up` alike: docker, local processes, or auto
// (docker when an engine answers, else local), and the local runtime's
// network namespace mode. It is apart from targets/runtime because it
// imports both runtimes, which import that package.
package pick

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/local"
)

// Runtime names (--runtime, cluster.runtime).
const (
	Auto   = "auto" // docker when an engine answers, else local
	Docker = "docker"
	Local  = "local"
)

// Namespace modes of the local runtime (--netns, cluster.netns).
const (
	NetnsAuto = "auto" // on when running as root
	NetnsOn   = "on"
	NetnsOff  = "off"
)

// Config is the choice: a runtime name, the local runtime's namespace mode
// and the user it runs node programs as when the harness is root.
type Config struct {
	Runtime  string
	Netns    string
	NodeUser string
}

// Check refuses an unknown runtime, or namespaces that cannot be had,
// before anything is launched. Its errors name the flag.
func Check(c Config) error {
	switch c.Runtime {
	case Auto, Docker, Local:
	default:
		return fmt.Errorf("unknown runtime %q (known: auto, docker, local)", c.Runtime)
	}
	switch c.Netns {
	case "", NetnsAuto, NetnsOff:
	case NetnsOn:
		if c.Runtime == Docker {
			return fmt.Errorf("--netns on is for the local runtime; docker nodes always have their own network")
		}
		if !local.CanUseNamespaces() {
			return fmt.Errorf("--netns on needs root (the local runtime creates network namespaces)")
		}
	default:
		return fmt.Errorf("unknown --netns %q (known: auto, on, off)", c.Netns)
	}
	if c.Runtime != Docker {
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

// New connects to the runtime c names (c passed Check); auto takes docker
// when an engine answers within 5 s and falls back to local processes
// otherwise, saying so through logf (which may be nil).
func New(ctx context.Context, c Config, logf func(string, ...any)) (runtime.Runtime, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	switch c.Runtime {
	case Docker:
		return docker.New(ctx)
	case Local:
		return newLocal(c)
	case Auto:
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

func newLocal(c Config) (*local.Runtime, error) {
	opts := []local.Option{local.WithNodeUser(c.NodeUser)}
	switch c.Netns {
	case NetnsOn:
		opts = append(opts, local.WithNamespaces(true))
	case NetnsOff:
		opts = append(opts, local.WithNamespaces(false))
	}
	return local.New(opts...)
}

// Netns is the namespace mode rt runs with, as a run records it: on or off
// for the local runtime, empty for docker.
func Netns(rt runtime.Runtime) string {
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
			return nil, nil, err
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
