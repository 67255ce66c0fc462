//go:build !linux

// Package local runs cluster nodes as child processes; it needs Linux.
package local

import (
	"context"
	"errors"

	"github.com/faultline/faultline/targets/runtime"
)

var errLinux = errors.New("the local runtime needs Linux")

// DefaultNodeUser is who node programs run as under a root harness.
const DefaultNodeUser = "nobody"

// ErrNoNetNS is returned by NetNS when nodes share the host's network.
var ErrNoNetNS = runtime.ErrNoNetNS

// Option configures the local runtime.
type Option func(*Runtime)

func WithNamespaces(on bool) Option        { return func(*Runtime) {} }
func WithStateDir(dir string) Option       { return func(*Runtime) {} }
func WithNodeUser(name string) Option      { return func(*Runtime) {} }
func CheckNodeUser(string) error           { return nil }
func CanUseNamespaces() bool               { return false }
func New(opts ...Option) (*Runtime, error) { return nil, errLinux }

// Runtime is unavailable off Linux.
type Runtime struct{}

func (*Runtime) Name() string     { return "local" }
func (*Runtime) Namespaces() bool { return false }
func (*Runtime) Launch(context.Context, runtime.ClusterSpec) (runtime.Cluster, error) {
	return nil, errLinux
}
func (*Runtime) Clean(context.Context, string) ([]string, error) { return nil, nil }
