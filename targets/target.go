// Package targets defines what a system under test must provide: how to build
// it, how to start node i of n, how to tell it is healthy, and how a workload
// talks to it. Each system lives in its own folder (targets/etcd, ...) and is
// listed once in targets/registry; where nodes run is the business of
// targets/runtime, which knows nothing of any system.
package targets

import (
	"context"
	"encoding/json"
	"net/http"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
)

// Target is one system under test.
type Target interface {
	// Name is what --target selects.
	Name() string
	// DefaultVersion is built when the user names no version.
	DefaultVersion() string
	// Ports lists the ports a node listens on; the one named ClientPort serves
	// the workload.
	Ports() []Port
	// Prepare builds (or finds in the cache) what nodes run.
	Prepare(ctx context.Context, version string, opts PrepareOptions) (Artifact, error)
	// Node says how to start node i (0-based) of a cluster whose members are
	// peers (peers[i] is the node itself).
	Node(i int, peers []Peer) NodeSpec
	// Healthy returns nil once the node reachable at base (scheme://host:port
	// of its client port) is ready to serve.
	Healthy(ctx context.Context, hc *http.Client, base string) error
	// Client returns the workload client for this system.
	Client(cfg ClientConfig) (Client, error)
}

// ClientPort is the name of the port the workload uses.
const ClientPort = "client"

// Port is a named TCP port inside a node.
type Port struct {
	Name   string
	Number int
}

// PrepareOptions configures Target.Prepare.
type PrepareOptions struct {
	// CacheDir holds built binaries, keyed by target and version.
	CacheDir string
	// Log receives build progress (may be nil).
	Log func(format string, args ...any)
}

// Artifact is what a runtime needs to run a node.
type Artifact struct {
	// Version is the resolved version (e.g. "latest" resolved to v3.7.3).
	Version string
	// Binary is a static Linux executable; runtimes that need an image build
	// one FROM scratch around it.
	Binary string
	// Image, when set, is a ready image to run instead of Binary.
	Image string
	// Dockerfile, when set, is a directory holding a Dockerfile: runtimes
	// that run images build it with the local engine (Faultline asks for no
	// pull; FROM images must be there unless the engine reaches a registry)
	// and run that instead of Binary.
	Dockerfile string
}

// Peer is a member of a cluster as the others see it.
type Peer struct {
	Name string
	// Host is the name or address other nodes use to reach this one.
	Host string
	// Bind is the address the node listens on ("" means all interfaces).
	Bind string
	// Ports maps each port name of Target.Ports to the number it listens on.
	Ports map[string]int
	// DataDir is where the node keeps its state; it survives a restart.
	DataDir string
}

// NodeSpec is how to start one node.
type NodeSpec struct {
	// Args follow the binary on the command line.
	Args []string
	// Env is extra environment, KEY=VALUE.
	Env []string
}

// ClientConfig configures a workload client.
type ClientConfig struct {
	// ReadMode is target specific; etcd knows "linearizable" and "serializable".
	ReadMode string
	// Final asks for the client of the final phase: the strongest reads the
	// target has, whatever its options say the load uses.
	Final bool
}

// Client performs a workload's operations on a node: the one client
// contract of every target, whatever its protocol. Do performs op against
// the node whose client endpoint is base and classifies the outcome, per
// operation and per error: ok (it happened; with the value read, for the
// workloads whose completions carry one), fail (it certainly did not happen)
// or info (it may have happened). Treating info as fail invents anomalies;
// treating every error as info makes histories uncheckable. Do must return
// once ctx ends (the client's timeout), with info for a write that may have
// been sent.
//
// The load still paces, times and records every operation through vegeta's
// Attacker: an HTTP client also implements Requester and is sent by vegeta
// itself (HTTP adapts a Requester to Client); any other Client is carried by
// Native, a round tripper that calls Do instead of the network.
type Client interface {
	Do(ctx context.Context, op *history.Event, base string) Outcome
}

// Requester is the HTTP form of a client, which vegeta's Attacker sends on
// the network itself (the load's fast path).
type Requester interface {
	// Request fills t with the request that performs op against the node
	// whose client endpoint is base. The op id must appear in the URL (op=ID,
	// last in the query) so the result can be matched to its operation.
	Request(op *history.Event, base string, t *vegeta.Target) error
	// Classify decides the outcome of op from the vegeta result, as
	// Client.Do does.
	Classify(op *history.Event, res *vegeta.Result) Outcome
}

// Setupper is a Client that prepares the cluster before the load: creates a
// schema, a stream, a queue. Setup runs once, after every node is healthy
// and before the history starts; an error ends the run (exit 4).
type Setupper interface {
	Setup(ctx context.Context, bases []string) error
}

// Outcome is the completion of an operation.
type Outcome struct {
	Type history.Type
	// Value is a register's value read (a JSON string in the history).
	Value string
	// Data is any other value the completion carries (a transaction's
	// reads, a dequeued message), as compact JSON; it replaces the invoke's.
	Data json.RawMessage
	// Version is what the system reported with the operation (a revision,
	// zxid, offset), as compact JSON the target defines.
	Version json.RawMessage
	Error   string
}

// LeaderFinder is implemented by targets that can say which node leads.
type LeaderFinder interface {
	// Leader returns the index in bases of the node that currently leads.
	Leader(ctx context.Context, hc *http.Client, bases []string) (int, error)
}

// ImageNeeder is a target whose nodes run only from a Docker image (Debian
// packages, a Dockerfile): the local runtime cannot run them, so a scenario
// asking for it is refused before anything is built.
type ImageNeeder interface {
	NeedsImage() bool
}
