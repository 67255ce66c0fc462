package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/targets/runtime"
)

// ContainerNode is a node that runs in a Docker container.
type ContainerNode interface {
	runtime.Node
	ContainerID() string
}

// Firewall is a chaos.Firewall that installs rules through one agent
// container per node. An agent lives as long as its node's network
// namespace: when the node restarts (a new namespace), a new agent replaces
// it.
type Firewall struct {
	cli   client.APIClient
	image string
	seq   atomic.Int64

	mu     sync.Mutex
	slots  map[string]*slot
	closed bool
	// busy counts agents being started, which Close waits for.
	busy sync.WaitGroup
}

type slot struct {
	mu  sync.Mutex
	car *car
	// checked says the car is known to be in the node's current namespace:
	// nothing restarted the node since (Rearm clears it), so no inspection
	// is needed before using it.
	checked bool
}

// New returns a Firewall whose agents run image (an image of the agent
// command, see package agent), through the Docker engine cli.
func New(cli client.APIClient, image string) *Firewall {
	return &Firewall{cli: cli, image: image, slots: map[string]*slot{}}
}

// NewClient connects to the Docker engine the environment names
// (DOCKER_HOST, or the default socket).
func NewClient() (client.APIClient, error) {
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return cli, nil
}

func (*Firewall) Name() string { return "sidecar" }

// Rearm is told that nodes stopped or restarted (a restarted node has a new
// namespace): their agents are checked again, and replaced in the
// background where needed. Apply waits for that where needed.
func (f *Firewall) Rearm(ctx context.Context, nodes []runtime.Node) {
	for _, n := range nodes {
		f.mu.Lock()
		s := f.slots[n.Name()]
		f.mu.Unlock()
		if s != nil {
			s.mu.Lock()
			s.checked = false
			s.mu.Unlock()
		}
		go func() { _, _, _ = f.agent(ctx, n) }()
	}
}

// Start starts the agents of nodes ahead of the first fault, so that the
// time a fault takes to be in place is not the time a container takes to
// start.
func (f *Firewall) Start(ctx context.Context, nodes []runtime.Node) error {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { _, _, errs[i] = f.agent(ctx, n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (f *Firewall) Apply(ctx context.Context, n runtime.Node, r netfault.Rules) error {
	_, err := f.call(ctx, n, Request{Op: "apply", Rules: &r}, false)
	return err
}

// Clear removes the node's rules. A node that is not running has no
// network namespace, so no rules.
func (f *Firewall) Clear(ctx context.Context, n runtime.Node) error {
	_, err := f.call(ctx, n, Request{Op: "clear"}, true)
	return err
}

func (f *Firewall) Installed(ctx context.Context, n runtime.Node) (bool, error) {
	res, err := f.call(ctx, n, Request{Op: "installed"}, true)
	return res.Installed, err
}

func (f *Firewall) call(ctx context.Context, n runtime.Node, req Request, okIfStopped bool) (Response, error) {
	c, running, err := f.agent(ctx, n)
	if err != nil {
		return Response{}, err
	}
	if !running {
		if okIfStopped {
			return Response{OK: true}, nil
		}
		return Response{}, fmt.Errorf("node %s is not running: no network namespace", n.Name())
	}
	res, err := c.call(ctx, req)
	if err != nil {
		return res, fmt.Errorf("%s: %w", n.Name(), err)
	}
	return res, nil
}

// agent returns the running agent in n's network namespace, starting one if
// there is none or n restarted since.
func (f *Firewall) agent(ctx context.Context, n runtime.Node) (*car, bool, error) {
	cn, ok := n.(ContainerNode)
	if !ok {
		return nil, false, fmt.Errorf("node %s is not a Docker container: the sidecar firewall needs the docker runtime", n.Name())
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, false, fmt.Errorf("node %s: the sidecar firewall is closed", n.Name())
	}
	s := f.slots[n.Name()]
	if s == nil {
		s = &slot{}
		f.slots[n.Name()] = s
	}
	f.busy.Add(1)
	defer f.busy.Done()
	f.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checked && s.car != nil && s.car.alive() {
		return s.car, true, nil
	}
	s.checked = false
	ins, err := f.cli.ContainerInspect(ctx, cn.ContainerID(), client.ContainerInspectOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("inspect %s: %w", n.Name(), err)
	}
	st := ins.Container.State
	if st == nil || !st.Running || st.Pid <= 0 {
		return nil, false, nil
	}
	if s.car != nil && s.car.nodePid == st.Pid && s.car.alive() {
		s.checked = true
		return s.car, true, nil
	}
	if s.car != nil {
		s.car.stop(ctx, f.cli)
		s.car = nil
	}
	labels := map[string]string{runtime.LabelApp: "true", runtime.LabelNode: n.Name() + "-net"}
	if ins.Container.Config != nil {
		if run := ins.Container.Config.Labels[runtime.LabelRun]; run != "" {
			labels[runtime.LabelRun] = run
		}
	}
	name := fmt.Sprintf("%s-net%d", trimSlash(ins.Container.Name), f.seq.Add(1))
	c, err := startCar(ctx, f.cli, f.image, name, container.NetworkMode("container:"+cn.ContainerID()), labels)
	if err != nil {
		return nil, false, fmt.Errorf("start the network sidecar of %s: %w", n.Name(), err)
	}
	c.nodePid = st.Pid
	s.car, s.checked = c, true
	return c, true, nil
}

// Close stops every agent; each removes its rules as its input ends.
func (f *Firewall) Close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	slots := f.slots
	f.slots = map[string]*slot{}
	f.mu.Unlock()
	f.busy.Wait()
	var errs []error
	for _, s := range slots {
		s.mu.Lock()
		if s.car != nil {
			errs = append(errs, s.car.stop(ctx, f.cli))
			s.car = nil
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// CheckNetem asks an agent in a namespace of its own (network none) whether
// the kernel has netem. It returns netfault.ErrNoNetem when it has not.
func CheckNetem(ctx context.Context, cli client.APIClient, image, runID string) error {
	labels := map[string]string{runtime.LabelApp: "true", runtime.LabelRun: runID, runtime.LabelNode: "netem-probe"}
	c, err := startCar(ctx, cli, image, "faultline-"+runID+"-netem-probe", "none", labels)
	if err != nil {
		return fmt.Errorf("start the netem probe: %w", err)
	}
	defer c.stop(context.WithoutCancel(ctx), cli)
	res, err := c.call(ctx, Request{Op: "probe-netem"})
	if res.NoNetem {
		return netfault.ErrNoNetem
	}
	return err
}

// CheckQueue asks an agent in a namespace of its own (network none) whether
// the kernel can queue packets to user space (packet faults). It returns
// an error wrapping netfault.ErrNoQueue when it cannot.
func CheckQueue(ctx context.Context, cli client.APIClient, image, runID string) error {
	labels := map[string]string{runtime.LabelApp: "true", runtime.LabelRun: runID, runtime.LabelNode: "queue-probe"}
	c, err := startCar(ctx, cli, image, "faultline-"+runID+"-queue-probe", "none", labels)
	if err != nil {
		return fmt.Errorf("start the queue probe: %w", err)
	}
	defer c.stop(context.WithoutCancel(ctx), cli)
	res, err := c.call(ctx, Request{Op: "probe-queue"})
	if res.NoQueue {
		return fmt.Errorf("%w: %s", netfault.ErrNoQueue, res.Error)
	}
	return err
}

// Shape starts a packet shaper in the node's agent (packet faults).
func (f *Firewall) Shape(ctx context.Context, n runtime.Node, req netfault.ShapeRequest) error {
	_, err := f.call(ctx, n, Request{Op: "shape", Shape: &req}, false)
	return err
}

// Unshape removes the node's rules and stops its agent's shaper.
func (f *Firewall) Unshape(ctx context.Context, n runtime.Node) (string, error) {
	res, err := f.call(ctx, n, Request{Op: "unshape"}, true)
	return res.Summary, err
}

// car is one running agent container, attached.
type car struct {
	id      string
	nodePid int
	conn    net.Conn
	resp    chan Response
	stderr  syncBuffer
	mu      sync.Mutex
	dead    atomic.Bool
}

func startCar(ctx context.Context, cli client.APIClient, image, name string, mode container.NetworkMode, labels map[string]string) (*car, error) {
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{Image: image, Labels: labels,
			OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true},
		HostConfig: &container.HostConfig{NetworkMode: mode, CapAdd: []string{"NET_ADMIN"}, AutoRemove: true},
	})
	if err != nil {
		return nil, err
	}
	c := &car{id: res.ID, resp: make(chan Response, 1)}
	// The attachment outlives this call's context: it is the agent's input.
	att, err := cli.ContainerAttach(context.WithoutCancel(ctx), res.ID,
		client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		c.stop(ctx, cli)
		return nil, fmt.Errorf("attach: %w", err)
	}
	c.conn = att.Conn
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, &c.stderr, att.Reader)
		pw.CloseWithError(err)
	}()
	go func() {
		defer close(c.resp)
		defer c.dead.Store(true)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var r Response
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = Response{Error: "agent: " + sc.Text()}
			}
			c.resp <- r
		}
	}()
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		c.stop(ctx, cli)
		return nil, err
	}
	// The agent says it is ready before anything else.
	if _, err := c.await(ctx, 30*time.Second); err != nil {
		c.stop(ctx, cli)
		return nil, err
	}
	return c, nil
}

func (c *car) alive() bool { return !c.dead.Load() }

func (c *car) call(ctx context.Context, req Request) (Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		c.dead.Store(true)
		return Response{}, fmt.Errorf("sidecar: %w", err)
	}
	return c.await(ctx, 30*time.Second)
}

func (c *car) await(ctx context.Context, limit time.Duration) (Response, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r, ok := <-c.resp:
		if !ok {
			return Response{}, fmt.Errorf("sidecar exited: %s", bytes.TrimSpace(c.stderr.Bytes()))
		}
		if !r.OK {
			return r, errors.New(r.Error)
		}
		return r, nil
	case <-ctx.Done():
		c.dead.Store(true)
		return Response{}, ctx.Err()
	case <-t.C:
		c.dead.Store(true)
		return Response{}, fmt.Errorf("sidecar did not answer in %v", limit)
	}
}

// stop ends the agent's input (it then removes its rules and exits) and
// removes its container.
func (c *car) stop(ctx context.Context, cli client.APIClient) error {
	if c.conn != nil {
		c.conn.Close()
	}
	c.dead.Store(true)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if _, err := cli.ContainerRemove(ctx, c.id, client.ContainerRemoveOptions{Force: true}); err != nil && !isGone(err) {
		return fmt.Errorf("remove sidecar %s: %w", c.id[:12], err)
	}
	return nil
}

func isGone(err error) bool {
	return cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err)
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}
