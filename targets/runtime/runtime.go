// Package runtime defines where nodes live. A Runtime launches a cluster of
// any target and hands back Node handles that the load generator and the
// nemeses use; it knows nothing of the system it runs.
package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/internal/safefile"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
)

// Labels put on everything a run creates, so that `faultline clean` can find
// what a killed run left behind.
const (
	LabelApp    = "faultline"
	LabelRun    = "faultline.run"
	LabelNode   = "faultline.node"
	LabelTarget = "faultline.target"
	// EnvRun is set in the environment of every child process a runtime
	// starts, so that `faultline clean` can find them by run id.
	EnvRun = "FAULTLINE_RUN"
)

// ShortID is a run id cut to fit names with a length limit (Linux interface
// names have 15 bytes): the id itself when it is at most 8 characters, a
// hash of it otherwise.
func ShortID(runID string) string {
	if len(runID) <= 8 {
		return runID
	}
	h := sha256.Sum256([]byte(runID))
	return hex.EncodeToString(h[:4])
}

// Runtime launches clusters.
type Runtime interface {
	Name() string
	// Launch starts every node of spec and returns once all are healthy.
	Launch(ctx context.Context, spec ClusterSpec) (Cluster, error)
	// Clean removes what runs left behind: everything of runID, or of every
	// run when runID is empty. It returns a description of what it removed.
	Clean(ctx context.Context, runID string) ([]string, error)
}

// ClusterSpec is a cluster to launch.
type ClusterSpec struct {
	RunID    string
	Target   targets.Target
	Artifact targets.Artifact
	Nodes    int
	// LogDir receives one <node>.log per node when the cluster closes.
	LogDir string
	// DataDir, when set, receives each node's data directory (DataDir/<node>/)
	// if the launch fails, e.g. a node that never became healthy.
	DataDir string
	// HealthTimeout bounds the wait for every node to become healthy.
	HealthTimeout time.Duration
	// Log receives progress lines (may be nil).
	Log func(format string, args ...any)
}

// NodeName is the stable name of node i: n1, n2, ...
func NodeName(i int) string { return fmt.Sprintf("n%d", i+1) }

// Cluster is a running cluster.
type Cluster interface {
	Nodes() []Node
	// SaveData copies each node's data directory into dir/<node>/, for a
	// post-mortem of a failed run. Call it before Close.
	SaveData(ctx context.Context, dir string) error
	// Close saves node logs into LogDir and removes every container, network,
	// namespace and process of the cluster. It is safe to call more than once.
	Close(ctx context.Context) error
}

// Node is the handle the rest of the program uses for one member.
type Node interface {
	Name() string
	// Endpoint is the base URL (http://host:port) of the named port, reachable
	// from the harness. It may change when the node restarts.
	Endpoint(port string) string
	// Addr is the node's IP address as its peers see it.
	Addr() string
	// Kill stops the node abruptly (SIGKILL); Start restarts it with its data.
	Kill(ctx context.Context) error
	Start(ctx context.Context) error
	// Pause freezes every process of the node; Resume thaws it.
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	// NetNS is the path of the node's network namespace, where network
	// faults install their rules.
	NetNS(ctx context.Context) (string, error)
	// Logs returns what the node has written so far.
	Logs(ctx context.Context) ([]byte, error)
}

// ErrNoNetNS is what Node.NetNS wraps when the node has no network namespace
// of its own (the local runtime without root): network faults cannot be had,
// and there are no rules to heal.
var ErrNoNetNS = errors.New("no network namespace of its own: network faults need root " +
	"(run as root with the local runtime's namespaces on, or use docker)")

// UnhealthyError says a node did not become healthy in time.
type UnhealthyError struct {
	Node    string
	Err     error
	LastLog string
}

func (e *UnhealthyError) Error() string {
	msg := fmt.Sprintf("node %s did not become healthy: %v", e.Node, e.Err)
	if e.LastLog != "" {
		msg += "\nlast log lines of " + e.Node + ":\n" + e.LastLog
	}
	return msg
}

func (e *UnhealthyError) Unwrap() error { return e.Err }

// DefaultHealthTimeout is how long nodes may take to become healthy when the
// spec does not say.
const DefaultHealthTimeout = 60 * time.Second

// WaitHealthy polls every node until the target calls it healthy, or returns
// an *UnhealthyError for the first that is not by the deadline (timeout, or
// DefaultHealthTimeout when it is not positive).
func WaitHealthy(ctx context.Context, t targets.Target, nodes []Node, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := httpx.NewClient(2*time.Second, httpx.WithAllow(httpx.AllowEndpoints(len(nodes), func(i int) string {
		return nodes[i].Endpoint(targets.ClientPort)
	})))
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last error
			for {
				last = t.Healthy(ctx, hc, n.Endpoint(targets.ClientPort))
				if last == nil {
					return
				}
				select {
				case <-ctx.Done():
					if parent.Err() != nil {
						// Cancelled (Ctrl-C), not unhealthy.
						errs[i] = parent.Err()
						return
					}
					logs, _ := n.Logs(context.Background())
					errs[i] = &UnhealthyError{Node: n.Name(), Err: last, LastLog: Tail(logs, 15)}
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Tail returns the last n lines of b.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// MaxLogBytes bounds what Node.Logs returns: the last MaxLogBytes of a
// node's output. A node that floods its log cannot make the harness run out
// of memory.
const MaxLogBytes = 64 << 20

// MaxDataBytes bounds the data SaveData copies out of one node.
const MaxDataBytes = 1 << 30

// SaveLogs writes each node's log to dir/<name>.log. dir and the files are
// created without following symlinks someone may have planted there
// (internal/safefile).
func SaveLogs(ctx context.Context, dir string, nodes []Node) error {
	if dir == "" {
		return nil
	}
	if err := safefile.MkdirAll(filepath.Dir(dir), filepath.Base(dir), 0o755); err != nil {
		return fmt.Errorf("save node logs: %w", err)
	}
	var errs []error
	for _, n := range nodes {
		b, err := n.Logs(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("logs of %s: %w", n.Name(), err))
		}
		if len(b) == 0 && err != nil {
			continue
		}
		if _, err := Within(dir, n.Name()+".log"); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := safefile.WriteFile(dir, n.Name()+".log", b, 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TailBuffer keeps the last Max bytes written to it (MaxLogBytes when Max is
// 0): a node's log stream read through it takes bounded memory.
type TailBuffer struct {
	Max int
	b   []byte
}

func (t *TailBuffer) Write(p []byte) (int, error) {
	limit := t.Max
	if limit <= 0 {
		limit = MaxLogBytes
	}
	t.b = append(t.b, p...)
	if len(t.b) > 2*limit {
		t.b = append(t.b[:0], t.b[len(t.b)-limit:]...)
	}
	return len(p), nil
}

// Bytes is the last Max bytes written.
func (t *TailBuffer) Bytes() []byte {
	limit := t.Max
	if limit <= 0 {
		limit = MaxLogBytes
	}
	if len(t.b) > limit {
		return t.b[len(t.b)-limit:]
	}
	return t.b
}
