// Package docker runs cluster nodes as containers through testcontainers-go.
//
// No registry is assumed: images are built locally FROM scratch around the
// target's static binary, and testcontainers' reaper (Ryuk, an image that would
// have to be pulled) is disabled. Faultline removes what it creates itself,
// and labels everything with the run id so `faultline clean` can find leftovers.
package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/internal/safefile"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

// DataDir is where a node keeps its state inside its container.
const DataDir = "/data"

// Runtime launches nodes as Docker containers.
type Runtime struct {
	provider *testcontainers.DockerProvider
	cli      client.APIClient
}

// New connects to the Docker engine and checks that it answers.
func New(ctx context.Context) (*Runtime, error) {
	// The reaper is an image pulled from a registry; none is reachable, and
	// Faultline cleans up after itself. testcontainers reads this setting
	// only from the environment or a properties file, once.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Health(hctx); err != nil {
		return nil, fmt.Errorf("docker engine not reachable: %w", err)
	}
	return &Runtime{provider: p, cli: p.Client()}, nil
}

func (*Runtime) Name() string { return "docker" }

// Image returns the local image for a, building it FROM scratch around the
// binary the first time. The tag carries the binary's hash, so a rebuilt
// binary gets a new image and an unchanged one is never rebuilt.
func (r *Runtime) Image(ctx context.Context, target string, a targets.Artifact) (string, error) {
	if a.Image != "" {
		return a.Image, nil
	}
	if a.Dockerfile != "" {
		return r.buildDockerfile(ctx, target, a)
	}
	f, err := os.Open(a.Binary)
	if err != nil {
		return "", fmt.Errorf("open %s binary: %w", target, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("hash %s binary: %w", target, err)
	}
	repo := "faultline/" + target
	tag := tagSafe(a.Version) + "-" + hex.EncodeToString(h.Sum(nil))[:12]
	ref := repo + ":" + tag
	if _, err := r.cli.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY %s /%s\nENTRYPOINT [\"/%s\"]\n", target, target, target)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		return "", err
	}
	if _, err := tw.Write([]byte(dockerfile)); err != nil {
		return "", err
	}
	if err := tw.WriteHeader(&tar.Header{Name: target, Mode: 0o755, Size: size}); err != nil {
		return "", err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	_, err = r.provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(buf.Bytes()),
		Repo:           repo,
		Tag:            tag,
		KeepImage:      true,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Labels = map[string]string{runtime.LabelApp: "image"}
			o.Remove, o.ForceRemove = true, true
		},
	}})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	return ref, nil
}

// buildDockerfile builds the image of a Dockerfile directory once per
// version (the target's hash of the directory). The engine is not asked to
// pull: images the FROM lines name must be there already, unless it can
// reach a registry itself.
func (r *Runtime) buildDockerfile(ctx context.Context, target string, a targets.Artifact) (string, error) {
	repo, tag := "faultline/"+target, tagSafe(a.Version)
	ref := repo + ":" + tag
	if _, err := r.cli.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	}
	_, err := r.provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context:    a.Dockerfile,
		Dockerfile: "Dockerfile",
		Repo:       repo,
		Tag:        tag,
		KeepImage:  true,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Labels = map[string]string{runtime.LabelApp: "image"}
			o.Remove, o.ForceRemove, o.PullParent = true, true, false
		},
	}})
	if err != nil {
		return "", fmt.Errorf("build image %s from %s: %w", ref, a.Dockerfile, err)
	}
	return ref, nil
}

func tagSafe(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}

// Launch creates the run's network and one container per node, and waits
// until every node is healthy. On error everything created is removed.
func (r *Runtime) Launch(ctx context.Context, spec runtime.ClusterSpec) (_ runtime.Cluster, err error) {
	t := spec.Target
	// The id becomes container and network names and the label clean
	// filters on.
	if err := runtime.ValidateRunID(spec.RunID); err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	logf := spec.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	img, err := r.Image(ctx, t.Name(), spec.Artifact)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{runtime.LabelApp: "true", runtime.LabelRun: spec.RunID, runtime.LabelTarget: t.Name()}
	c := &cluster{cli: r.cli, logDir: spec.LogDir, netName: "faultline-" + spec.RunID}
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
	subnet, err := r.createNetwork(ctx, c.netName, spec.RunID, labels)
	if err != nil {
		return nil, err
	}
	c.netCreated = true
	// Static addresses: a restarted container keeps its address, so rules
	// that name it (partitions) stay right across kills and restarts.
	addrs := make([]netip.Addr, spec.Nodes)
	a := subnet.Addr().Next() // .1 is the gateway
	for i := range addrs {
		a = a.Next()
		addrs[i] = a
	}

	ports := t.Ports()
	peers := make([]targets.Peer, spec.Nodes)
	for i := range peers {
		pm := map[string]int{}
		for _, p := range ports {
			pm[p.Name] = p.Number
		}
		name := runtime.NodeName(i)
		peers[i] = targets.Peer{Name: name, Host: name, Ports: pm, DataDir: DataDir}
	}
	c.nodes = make([]*node, spec.Nodes)
	g, gctx := errgroup.WithContext(ctx)
	for i := range peers {
		g.Go(func() error {
			n, err := r.startNode(gctx, spec, img, labels, c.netName, addrs[i], i, peers, ports)
			c.mu.Lock()
			c.nodes[i] = n
			c.mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	logf("%d %s nodes started, waiting until healthy", spec.Nodes, t.Name())
	if err := runtime.WaitHealthy(ctx, t, c.Nodes(), spec.HealthTimeout); err != nil {
		return nil, err
	}
	return c, nil
}

func (r *Runtime) startNode(ctx context.Context, spec runtime.ClusterSpec, img string, labels map[string]string,
	netName string, addr netip.Addr, i int, peers []targets.Peer, ports []targets.Port) (*node, error) {
	name := peers[i].Name
	ns := spec.Target.Node(i, peers)
	env := map[string]string{}
	for _, kv := range ns.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	nl := map[string]string{runtime.LabelNode: name}
	for k, v := range labels {
		nl[k] = v
	}
	// Only the client port is published: peers talk over the run's network,
	// and every published port costs a docker-proxy process and NAT rules.
	var exposed []string
	for _, p := range ports {
		if p.Name == targets.ClientPort {
			exposed = append(exposed, strconv.Itoa(p.Number)+"/tcp")
		}
	}
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          img,
			Name:           "faultline-" + spec.RunID + "-" + name,
			Cmd:            ns.Args,
			Env:            env,
			Labels:         nl,
			Networks:       []string{netName},
			NetworkAliases: map[string][]string{netName: {name}},
			ExposedPorts:   exposed,
			ConfigModifier: func(cfg *container.Config) { cfg.Hostname = name },
			EndpointSettingsModifier: func(eps map[string]*network.EndpointSettings) {
				if es := eps[netName]; es != nil {
					es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: addr}
				}
			},
			HostConfigModifier: func(hc *container.HostConfig) {
				// Publish on loopback only: the cluster is nobody else's business.
				hc.PortBindings = network.PortMap{}
				for _, e := range exposed {
					port, _ := network.ParsePort(e)
					hc.PortBindings[port] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
				}
			},
		},
		Started: true,
		Logger:  tclog.NewNoopLogger(),
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	var dc *testcontainers.DockerContainer
	if ctr != nil {
		dc, _ = ctr.(*testcontainers.DockerContainer)
	}
	if dc == nil && err == nil {
		err = errors.New("unexpected container type")
	}
	if err != nil {
		if dc != nil {
			return &node{name: name, id: dc.GetContainerID(), cli: r.cli}, fmt.Errorf("start %s: %w", name, err)
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	n := &node{name: name, id: dc.GetContainerID(), cli: r.cli, netName: netName, ports: ports, addr: addr.String()}
	if err := n.refresh(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// createNetwork creates the run's bridge network on a /24 of its own in
// 10.192.0.0/11, chosen from the run id; a subnet taken by another network
// (another run, another user) moves on to the next candidate.
func (r *Runtime) createNetwork(ctx context.Context, name, runID string, labels map[string]string) (netip.Prefix, error) {
	h := fnv.New32a()
	h.Write([]byte(runID))
	seed := h.Sum32()
	var errs []error
	for k := uint32(0); k < 8; k++ {
		v := seed + k*2654435761
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(192 + v%32), byte(v >> 8), 0}), 24)
		//nolint:staticcheck // network.New names networks by UUID; ours carry the run id.
		_, err := r.provider.CreateNetwork(ctx, testcontainers.NetworkRequest{
			Name: name, Driver: "bridge", Labels: labels,
			IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{
				Subnet: subnet, Gateway: subnet.Addr().Next(),
			}}},
		})
		if err == nil {
			return subnet, nil
		}
		errs = append(errs, err)
		if !strings.Contains(err.Error(), "overlap") {
			break
		}
	}
	return netip.Prefix{}, fmt.Errorf("create network %s: %w", name, errors.Join(errs...))
}

// Clean removes containers and networks left by runs.
func (r *Runtime) Clean(ctx context.Context, runID string) ([]string, error) {
	f := client.Filters{}
	if runID != "" {
		if err := runtime.ValidateRunID(runID); err != nil {
			return nil, err
		}
		f = f.Add("label", runtime.LabelRun+"="+runID)
	} else {
		f = f.Add("label", runtime.LabelRun)
	}
	var removed []string
	var errs []error
	cs, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if _, err := r.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "container "+strings.TrimPrefix(firstOr(c.Names, c.ID), "/"))
	}
	ns, err := r.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if _, err := r.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "network "+n.Name)
	}
	return removed, errors.Join(errs...)
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

type cluster struct {
	cli        client.APIClient
	logDir     string
	netName    string
	netCreated bool

	mu     sync.Mutex
	nodes  []*node
	closed bool
}

func (c *cluster) Nodes() []runtime.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]runtime.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// Close saves the logs, then force-removes containers and the network.
// SaveData copies each node's data directory out of its container (running
// or not) into dir/<node>/.
func (c *cluster) SaveData(ctx context.Context, dir string) error {
	var errs []error
	for _, rn := range c.Nodes() {
		n := rn.(*node)
		res, err := c.cli.CopyFromContainer(ctx, n.id, client.CopyFromContainerOptions{SourcePath: DataDir})
		if err != nil {
			errs = append(errs, fmt.Errorf("save data of %s: %w", n.name, err))
			continue
		}
		err = untar(res.Content, filepath.Join(dir, n.name))
		res.Content.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("save data of %s: %w", n.name, err))
		}
	}
	return errors.Join(errs...)
}

// untar writes the directories and regular files of a tar stream under dst,
// refusing paths that would leave it, at most runtime.MaxDataBytes. The
// archive comes from the node: links in it are skipped, and files are
// written through internal/safefile.
func untar(r io.Reader, dst string) error {
	// dst is <run dir>/data/<node>: neither data/ nor <node> may be a link.
	if err := safefile.MkdirAll(filepath.Dir(filepath.Dir(dst)), filepath.Join(filepath.Base(filepath.Dir(dst)), filepath.Base(dst)), 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		// The archive's root is the data directory itself.
		rel := h.Name
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			rel = rel[i+1:]
		} else {
			rel = ""
		}
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if p != dst && !strings.HasPrefix(p, dst+string(filepath.Separator)) {
			return fmt.Errorf("unsafe path %q in archive", h.Name)
		}
		if p == dst {
			continue
		}
		rel, _ = filepath.Rel(dst, p)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := safefile.MkdirAll(dst, rel, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if d := filepath.Dir(rel); d != "." {
				if err := safefile.MkdirAll(dst, d, 0o755); err != nil {
					return err
				}
			}
			f, err := safefile.Create(dst, rel, 0o644)
			if err != nil {
				return err
			}
			n, err := io.Copy(f, io.LimitReader(tr, runtime.MaxDataBytes-total+1))
			total += n
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil && total > runtime.MaxDataBytes {
				err = fmt.Errorf("more than %d MiB of data: the copy stops here", runtime.MaxDataBytes>>20)
			}
			if err != nil {
				return err
			}
		}
	}
}

func (c *cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	// Cleanup must finish even when the run was cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	nodes := c.Nodes()
	errs := []error{runtime.SaveLogs(ctx, c.logDir, nodes)}
	for _, n := range nodes {
		if _, err := c.cli.ContainerRemove(ctx, n.(*node).id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", n.Name(), err))
		}
	}
	if c.netCreated {
		if _, err := c.cli.NetworkRemove(ctx, c.netName, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", c.netName, err))
		}
	}
	return errors.Join(errs...)
}

type node struct {
	name    string
	id      string
	cli     client.APIClient
	netName string
	ports   []targets.Port

	mu        sync.RWMutex
	endpoints map[string]string
	addr      string
	pid       int
}

func (n *node) Name() string { return n.name }

// ContainerID is the node's container, for tools that join it (the network
// sidecar of package chaos/sidecar).
func (n *node) ContainerID() string { return n.id }

func (n *node) Endpoint(port string) string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.endpoints[port]
}

func (n *node) Addr() string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.addr
}

// refresh reads the node's address, pid and published ports, which Docker may
// change when a container restarts.
func (n *node) refresh(ctx context.Context) error {
	res, err := n.cli.ContainerInspect(ctx, n.id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", n.name, err)
	}
	ci := res.Container
	n.mu.Lock()
	defer n.mu.Unlock()
	// A stopped container has no address and no published ports; the last
	// known ones stay, so that requests to a killed node are refused (a
	// certain failure) rather than malformed, and rules can still name it.
	// The address is static anyway; published ports change on restart.
	if ci.NetworkSettings != nil {
		if es := ci.NetworkSettings.Networks[n.netName]; es != nil && es.IPAddress.IsValid() {
			n.addr = es.IPAddress.String()
		}
	}
	eps := map[string]string{}
	for k, v := range n.endpoints {
		eps[k] = v
	}
	for _, p := range n.ports {
		port, _ := network.ParsePort(strconv.Itoa(p.Number) + "/tcp")
		var bs []network.PortBinding
		if ci.NetworkSettings != nil {
			bs = ci.NetworkSettings.Ports[port]
		}
		switch {
		case len(bs) > 0:
			host := "127.0.0.1"
			if bs[0].HostIP.IsValid() && !bs[0].HostIP.IsUnspecified() {
				host = bs[0].HostIP.String()
			}
			eps[p.Name] = "http://" + host + ":" + bs[0].HostPort
		case n.addr != "" && p.Name != targets.ClientPort:
			// Not published: reachable at the container's address from a
			// Linux host.
			eps[p.Name] = "http://" + n.addr + ":" + strconv.Itoa(p.Number)
		}
	}
	n.endpoints = eps
	n.pid = 0
	if ci.State != nil && ci.State.Running {
		n.pid = ci.State.Pid
	}
	return nil
}

func (n *node) Kill(ctx context.Context) error {
	if _, err := n.cli.ContainerKill(ctx, n.id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill %s: %w", n.name, err)
	}
	return nil
}

func (n *node) Start(ctx context.Context) error {
	if _, err := n.cli.ContainerStart(ctx, n.id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	return n.refresh(ctx)
}

func (n *node) Pause(ctx context.Context) error {
	if _, err := n.cli.ContainerPause(ctx, n.id, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause %s: %w", n.name, err)
	}
	return nil
}

func (n *node) Resume(ctx context.Context) error {
	if _, err := n.cli.ContainerUnpause(ctx, n.id, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("resume %s: %w", n.name, err)
	}
	return nil
}

func (n *node) NetNS(ctx context.Context) (string, error) {
	if err := n.refresh(ctx); err != nil {
		return "", err
	}
	n.mu.RLock()
	pid := n.pid
	n.mu.RUnlock()
	if pid <= 0 {
		return "", fmt.Errorf("node %s is not running: no network namespace", n.name)
	}
	return fmt.Sprintf("/proc/%d/ns/net", pid), nil
}

func (n *node) Logs(ctx context.Context) ([]byte, error) {
	rc, err := n.cli.ContainerLogs(ctx, n.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", n.name, err)
	}
	defer rc.Close()
	var buf runtime.TailBuffer // at most the last runtime.MaxLogBytes
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return buf.Bytes(), fmt.Errorf("logs of %s: %w", n.name, err)
	}
	return buf.Bytes(), nil
}
