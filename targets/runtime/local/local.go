//go:build linux

// Package local runs cluster nodes as child processes of the harness, for
// machines without Docker.
//
// Without root (or with namespaces turned off) every node listens on
// 127.0.0.1 with ports of its own; kill, pause and restart are signals
// (SIGKILL, SIGSTOP/SIGCONT), and network faults are refused: NetNS says why.
//
// As root, each node runs in a network namespace of its own, with one address
// of a private /24 chosen per run. The nodes' veths meet on a bridge that lives
// in one more namespace, the run's "switch", which also holds the far end of
// the one veth the host has into the cluster. Keeping the bridge out of the
// host namespace matters: with br_netfilter loaded (Docker loads it) bridged
// packets go through the host's iptables FORWARD chain, which Docker sets to
// DROP; the switch namespace has no rules, so nodes reach each other whatever
// the host's firewall says. Faults install nftables rules in a node's
// namespace (/run/netns/faultline-<run>-n<i>).
//
// Children get Pdeathsig=SIGKILL, so they die with a harness that is killed
// outright. Pdeathsig fires when the parent *thread* exits, so every child is
// started from one goroutine locked to its OS thread for the cluster's life
// (the spawner); it is also the thread that enters a node's namespace to start
// it (setns, fork, setns back), which needs no helper binary or re-exec.
// Everything created (pids, namespaces, links, directories) is recorded in a
// state file under runtime.StateDir(), so `faultline clean` can remove what a
// run killed with SIGKILL left behind.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/faultline/faultline/chaos/lazyfs"
	"github.com/faultline/faultline/internal/safefile"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

// Option configures the local runtime.
type Option func(*Runtime)

// WithNamespaces turns per-node network namespaces on or off. By default
// they are on when the harness runs as root; off is how the unprivileged
// path is tested on a root CI machine.
func WithNamespaces(on bool) Option { return func(r *Runtime) { r.netns = on } }

// WithStateDir sets where node data, logs and the state file live (default
// runtime.StateDir()).
func WithStateDir(dir string) Option { return func(r *Runtime) { r.stateDir = dir } }

// WithNodeUser sets who node programs run as: a user name or uid; "root"
// keeps root. By default (""), a root harness runs them as DefaultNodeUser
// and an unprivileged one as itself.
func WithNodeUser(name string) Option { return func(r *Runtime) { r.userName = name } }

// Runtime launches nodes as child processes.
type Runtime struct {
	netns    bool
	stateDir string
	userName string
	user     *nodeUser
}

// CanUseNamespaces reports whether this process may create network
// namespaces (it runs as root).
func CanUseNamespaces() bool { return os.Geteuid() == 0 }

// New returns the local runtime. Asking for namespaces without root is an
// error.
func New(opts ...Option) (*Runtime, error) {
	r := &Runtime{netns: CanUseNamespaces(), stateDir: runtime.StateDir()}
	for _, o := range opts {
		o(r)
	}
	if r.netns && !CanUseNamespaces() {
		return nil, errors.New("local runtime: network namespaces need root (run as root, or turn them off)")
	}
	u, err := resolveNodeUser(r.userName)
	if err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	r.user = u
	return r, nil
}

func (*Runtime) Name() string { return "local" }

// Namespaces reports whether nodes get network namespaces of their own.
func (r *Runtime) Namespaces() bool { return r.netns }

// Launch starts every node and waits until all are healthy. On error
// everything created is removed.
func (r *Runtime) Launch(ctx context.Context, spec runtime.ClusterSpec) (_ runtime.Cluster, err error) {
	t := spec.Target
	if spec.Artifact.Binary == "" {
		if spec.Artifact.Image != "" || spec.Artifact.Dockerfile != "" {
			return nil, fmt.Errorf("local runtime: target %s runs from a Docker image, which only the docker runtime can run (--runtime docker)", t.Name())
		}
		return nil, fmt.Errorf("local runtime: target %s gave no binary to run", t.Name())
	}
	logf := spec.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := runtime.EnsureStateDir(r.stateDir); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	dir, err := runtime.RunPath(r.stateDir, spec.RunID)
	if err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	// A run's directory is new: one that exists is another run's, or planted.
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local runtime: %w", err)
	}
	c := &cluster{
		runID: spec.RunID, dir: dir, logDir: spec.LogDir, binary: spec.Artifact.Binary, user: r.user, lazy: spec.LazyFS,
		st: &state{path: filepath.Join(dir, stateFile), RunID: spec.RunID, Harness: os.Getpid(), Dir: dir, Started: time.Now()},
	}
	if err := c.st.save(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Nodes running as another user get a directory they can reach, with
	// a copy of the binary they cannot change (user.go).
	nodeParent := dir
	if !r.user.same() {
		root, bin, err := makeNodeRoot(spec.RunID, c.binary)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.nodeRoot, c.binary, nodeParent = root, bin, root
		c.st.NodeRoot = root
		if err := c.st.save(); err != nil {
			os.RemoveAll(root)
			os.RemoveAll(dir)
			return nil, err
		}
	}
	c.sp = newSpawner()
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			var uh *runtime.UnhealthyError
			if spec.DataDir != "" && errors.As(err, &uh) {
				err = errors.Join(err, c.SaveData(cctx, spec.DataDir))
			}
			err = errors.Join(err, c.Close(cctx))
		}
	}()

	ports := t.Ports()
	peers := make([]targets.Peer, spec.Nodes)
	if r.netns {
		net, err := setupNetwork(c.sp, c.st, spec.RunID, spec.Nodes)
		if err != nil {
			return nil, err
		}
		c.net = net
		for i := range peers {
			pm := map[string]int{}
			for _, p := range ports {
				pm[p.Name] = p.Number
			}
			peers[i] = targets.Peer{Name: runtime.NodeName(i), Host: net.addrs[i].String(), Ports: pm}
		}
	} else {
		// Loopback: every node needs ports of its own. The kernel picks free
		// ones; the listeners are closed just before the nodes start.
		var ls []net.Listener
		defer func() {
			for _, l := range ls {
				l.Close()
			}
		}()
		for i := range peers {
			pm := map[string]int{}
			for _, p := range ports {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return nil, fmt.Errorf("local runtime: find a free port: %w", err)
				}
				ls = append(ls, l)
				pm[p.Name] = l.Addr().(*net.TCPAddr).Port
			}
			peers[i] = targets.Peer{Name: runtime.NodeName(i), Host: "127.0.0.1", Bind: "127.0.0.1", Ports: pm}
		}
		for _, l := range ls {
			l.Close()
		}
		ls = nil
	}
	c.nodes = make([]*node, spec.Nodes)
	for i := range peers {
		name := peers[i].Name
		ndir := filepath.Join(nodeParent, name)
		if err := r.user.nodeDir(ndir); err != nil {
			return nil, err
		}
		peers[i].DataDir = filepath.Join(ndir, "data")
		n := &node{c: c, name: name, addr: peers[i].Host, dir: ndir, logPath: filepath.Join(dir, name+".log"),
			endpoints: map[string]string{}, peer: peers[i]}
		if err := n.prepareDisk(spec.LazyFS); err != nil {
			return nil, err
		}
		for _, p := range ports {
			n.endpoints[p.Name] = "http://" + net.JoinHostPort(peers[i].Host, strconv.Itoa(peers[i].Ports[p.Name]))
		}
		if c.net != nil {
			n.nsName = c.net.nodeNS[i]
		}
		c.nodes[i] = n
	}
	for i, n := range c.nodes {
		ns := t.Node(i, peers)
		n.args = ns.Args
		n.baseEnv = []string{runtime.EnvRun + "=" + spec.RunID, "FAULTLINE_NODE=" + n.name, "HOME=" + n.dir,
			runtime.EnvClock + "=" + n.clockPath()}
		n.env = append(append([]string(nil), n.baseEnv...), ns.Env...)
		if err := n.Start(ctx); err != nil {
			return nil, err
		}
	}
	logf("%d %s nodes started, waiting until healthy", spec.Nodes, t.Name())
	if err := runtime.WaitHealthy(ctx, t, c.Nodes(), spec.HealthTimeout); err != nil {
		return nil, err
	}
	return c, nil
}

type cluster struct {
	runID  string
	dir    string
	logDir string
	binary string
	// user is who the nodes run as (nil: as the harness); nodeRoot holds
	// their directories then.
	user     *nodeUser
	nodeRoot string
	sp       *spawner
	net      *network
	st       *state

	// lazy says the data directories are lazyfs mounts.
	lazy bool

	mu     sync.Mutex
	nodes  []*node
	closed bool
	// extra are the nodes added while the cluster runs (grow.go), by
	// index, until removed; added is every one ever added, for the logs.
	extra map[int]*node
	added []*node
}

func (c *cluster) Nodes() []runtime.Node {
	out := make([]runtime.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	return out
}

// SaveData copies every node's data directory into dir/<node>/.
func (c *cluster) SaveData(ctx context.Context, dir string) error {
	var errs []error
	for _, n := range c.nodes {
		if err := copyTree(filepath.Join(n.dir, "data"), filepath.Join(dir, n.name)); err != nil {
			errs = append(errs, fmt.Errorf("save data of %s: %w", n.name, err))
		}
	}
	return errors.Join(errs...)
}

// Close kills every node, saves the logs, removes the namespaces and links,
// and deletes the run's directory.
func (c *cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	extra := make([]*node, 0, len(c.extra))
	for _, n := range c.extra {
		extra = append(extra, n)
	}
	logged := c.Nodes()
	seen := map[string]bool{}
	for _, n := range slices.Backward(c.added) {
		if !seen[n.name] {
			seen[n.name] = true
			logged = append(logged, n)
		}
	}
	c.mu.Unlock()
	var errs []error
	for _, n := range append(slices.Clone(c.nodes), extra...) {
		if n != nil {
			if err := n.Kill(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := runtime.SaveLogs(ctx, c.logDir, logged); err != nil {
		errs = append(errs, err)
	}
	for _, n := range append(slices.Clone(c.nodes), extra...) {
		if n != nil && n.lazy != nil {
			// Unsynced data goes with the mount, as on a crash.
			if err := n.lazy.Close(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := cleanCgroups(c.runID); err != nil { // slow-cpu, slow-io
		errs = append(errs, err)
	}
	if c.net != nil {
		if err := c.net.teardown(); err != nil {
			errs = append(errs, err)
		}
	}
	c.sp.stop()
	for _, d := range []string{c.dir, c.nodeRoot} {
		if d == "" {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

type node struct {
	c         *cluster
	name      string
	addr      string
	dir       string
	logPath   string
	nsName    string
	endpoints map[string]string
	args      []string
	env       []string

	lazy    *lazyfs.FS // the data directory's mount, with ClusterSpec.LazyFS
	peer    targets.Peer
	baseEnv []string

	mu     sync.Mutex
	proc   *os.Process
	exited chan struct{}
}

func (n *node) Name() string                { return n.name }
func (n *node) Addr() string                { return n.addr }
func (n *node) Endpoint(port string) string { return n.endpoints[port] }

// Start starts the node's process (again), with its data kept. Starting a
// node that runs is a no-op, as with a container.
func (n *node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running() {
		return nil
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	defer logf.Close()
	cmd := exec.Command(n.c.binary, n.args...)
	cmd.Env = n.env
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = logf, logf // files: no copying goroutine
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true, Credential: n.c.user.credential()}
	nsPath := ""
	if n.nsName != "" {
		nsPath = nsDir + "/" + n.nsName
	}
	if err := n.c.sp.do(nsPath, cmd.Start); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	n.proc = cmd.Process
	exited := make(chan struct{})
	n.exited = exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	n.c.st.setPid(n.name, cmd.Process.Pid)
	if err := n.c.st.save(); err != nil {
		return err
	}
	return nil
}

func (n *node) running() bool {
	if n.proc == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the node's process group (the node and anything it
// started).
func (n *node) signal(sig syscall.Signal) error {
	if !n.running() {
		return fmt.Errorf("node %s is not running", n.name)
	}
	if err := syscall.Kill(-n.proc.Pid, sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, n.name, err)
	}
	return nil
}

// Kill sends SIGKILL and waits until the process is gone. Killing a node
// that is not running is a no-op.
func (n *node) Kill(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running() {
		return nil
	}
	if err := n.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-n.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kill %s: %w", n.name, ctx.Err())
	}
}

func (n *node) Pause(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.signal(syscall.SIGSTOP)
}

func (n *node) Resume(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.signal(syscall.SIGCONT)
}

// ErrNoNetNS is returned (wrapped) by NetNS when nodes share the host's
// network.
var ErrNoNetNS = runtime.ErrNoNetNS

func (n *node) NetNS(ctx context.Context) (string, error) {
	if n.nsName == "" {
		return "", fmt.Errorf("node %s of the local runtime on loopback has %w", n.name, ErrNoNetNS)
	}
	return nsDir + "/" + n.nsName, nil
}

// Logs returns the node's output, at most its last runtime.MaxLogBytes.
func (n *node) Logs(ctx context.Context) ([]byte, error) {
	f, err := os.OpenFile(n.logPath, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", n.name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", n.name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("logs of %s: %s is not a regular file", n.name, n.logPath)
	}
	if size := st.Size(); size > runtime.MaxLogBytes {
		if _, err := f.Seek(size-runtime.MaxLogBytes, io.SeekStart); err != nil {
			return nil, fmt.Errorf("logs of %s: %w", n.name, err)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, runtime.MaxLogBytes))
	if err != nil {
		return b, fmt.Errorf("logs of %s: %w", n.name, err)
	}
	return b, nil
}

// copyTree copies the regular files and directories under src into dst, at
// most runtime.MaxDataBytes. src belongs to the node (which may have put
// symlinks there): they are skipped, and files are opened without following
// one. dst is written through internal/safefile.
func copyTree(src, dst string) error {
	// dst is <run dir>/data/<node>: neither data/ nor <node> may be a link.
	if err := safefile.MkdirAll(filepath.Dir(filepath.Dir(dst)), filepath.Join(filepath.Base(filepath.Dir(dst)), filepath.Base(dst)), 0o755); err != nil {
		return err
	}
	var total int64
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case rel == ".":
			return nil
		case fi.IsDir():
			return safefile.MkdirAll(dst, rel, 0o755)
		case fi.Mode().IsRegular():
			in, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
			if err != nil {
				return err
			}
			defer in.Close()
			if st, err := in.Stat(); err != nil || !st.Mode().IsRegular() {
				return nil // swapped for something else since the walk saw it
			}
			o, err := safefile.Create(dst, rel, 0o644)
			if err != nil {
				return err
			}
			n, err := io.Copy(o, io.LimitReader(in, runtime.MaxDataBytes-total+1))
			total += n
			if cerr := o.Close(); err == nil {
				err = cerr
			}
			if err == nil && total > runtime.MaxDataBytes {
				err = fmt.Errorf("more than %d MiB of data: the copy stops here", runtime.MaxDataBytes>>20)
			}
			return err
		}
		return nil
	})
}
