// Package echo is a tiny TCP and UDP echo server, built from this module's own
// source, used as a target to test faults: connectivity between nodes can be
// probed in both directions and restarts counted, with nothing else in the
// way. It has no workload and is not in the registry.
package echo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
)

// Port is where every node listens, TCP and UDP.
const Port = 7000

// Target is the echo server.
type Target struct {
	// Dir is a directory of Faultline's source tree (default: the working
	// directory), where the server is built from.
	Dir string
}

// New returns the echo target.
func New() *Target { return &Target{} }

func (*Target) Name() string           { return "echo" }
func (*Target) DefaultVersion() string { return "local" }
func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: Port}}
}

// Prepare builds echod from the source tree.
func (t *Target) Prepare(ctx context.Context, _ string, opts targets.PrepareOptions) (targets.Artifact, error) {
	path, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: "echod", Package: "github.com/faultline/faultline/targets/echo/echod",
		Dir: t.Dir, CacheDir: opts.CacheDir})
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: "local", Binary: path}, nil
}

// Node runs echod on Port with the node's data directory.
func (*Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	p := peers[i]
	port := Port
	if n, ok := p.Ports[targets.ClientPort]; ok {
		port = n
	}
	return targets.NodeSpec{Args: []string{"-port", strconv.Itoa(port), "-data", p.DataDir}}
}

// Healthy says the node echoes a line.
func (*Target) Healthy(ctx context.Context, _ *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := Say(ctx, HostPort(base), "ping")
	return err
}

// Client refuses: echo has no workload.
func (*Target) Client(targets.ClientConfig) (targets.Client, error) {
	return nil, errors.New("echo is a target for testing faults: it has no workload")
}

// HostPort turns an endpoint (http://host:port) into host:port.
func HostPort(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

// Say opens a TCP connection to addr, sends line and returns the answer.
func Say(ctx context.Context, addr, line string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	return Exchange(ctx, c, line)
}

// Exchange sends line on c, returns the answer and closes c.
func Exchange(ctx context.Context, c net.Conn, line string) (string, error) {
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := fmt.Fprintf(c, "%s\n", line); err != nil {
		return "", err
	}
	ans, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("no answer from %s: %w", c.RemoteAddr(), err)
	}
	ans = strings.TrimSuffix(ans, "\n")
	if line != "boots" && ans != line {
		return ans, fmt.Errorf("%s answered %q to %q", c.RemoteAddr(), ans, line)
	}
	return ans, nil
}

// Boots asks the node at addr how many times it has started on its data.
func Boots(ctx context.Context, addr string) (int, error) {
	ans, err := Say(ctx, addr, "boots")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(ans)
	if err != nil {
		return 0, fmt.Errorf("boots: %q", ans)
	}
	return n, nil
}
