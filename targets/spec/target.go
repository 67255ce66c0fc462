package spec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
	"github.com/faultline/faultline/targets/image"
	"github.com/faultline/faultline/targets/runtime/docker"
)

// Target is the targets.Target a Spec describes (see New).
type Target struct {
	spec    Spec
	version string
	options map[string]string
	ports   []targets.Port
	args    []*tmpl
	env     []envVar
	reqs    map[string]*request
	// proto and conn are the protocol client, if the spec names one.
	proto      *Protocol
	conn       conn
	healthPort string
}

type envVar struct {
	name  string
	value *tmpl
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
	_ targets.HealthPorter = (*Target)(nil)
	_ targets.ImageNeeder  = (*Target)(nil)
)

func (t *Target) Name() string { return t.spec.Name }

// DefaultVersion is the version New resolved: local, a module version or
// query, "dockerfile", or the image reference.
func (t *Target) DefaultVersion() string { return t.version }

func (t *Target) Ports() []targets.Port { return append([]targets.Port(nil), t.ports...) }

// NeedsImage reports whether nodes run from a Docker image (dockerfile,
// image or debian source): the local runtime cannot run them.
func (t *Target) NeedsImage() bool { return t.spec.Source.Go == "" }

// Supports reports whether the spec has a request for operation f, or its
// protocol client performs it.
func (t *Target) Supports(f string) bool {
	if t.proto != nil {
		return slices.Contains(t.proto.Ops, f)
	}
	return t.reqs[f] != nil
}

// HealthPort is health.port, the protocol's health port, or the client
// port.
func (t *Target) HealthPort() string {
	if t.healthPort == "" {
		return targets.ClientPort
	}
	return t.healthPort
}

// Prepare builds the Go package (from a local tree, or from the module proxy
// at the version, cached), or names the Dockerfile directory or the image
// for the docker runtime to build or run.
func (t *Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	src := t.spec.Source
	switch {
	case src.Go != "" && t.version == LocalVersion:
		dir := src.Dir
		if dir == "" {
			dir = "the working directory"
		}
		logf("building %s (%s) from %s", t.spec.Name, src.Go, dir)
		path, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: t.spec.Name, Package: src.Go, Dir: src.Dir, CacheDir: opts.CacheDir})
		if err != nil {
			return targets.Artifact{}, err
		}
		return targets.Artifact{Version: gobuild.LocalVersion(path), Binary: path}, nil
	case src.Go != "":
		if version == "" {
			version = t.version
		}
		path, v, err := gobuild.BuildPackage(ctx, gobuild.PackageSpec{Name: t.spec.Name, Package: src.Go, Version: version,
			CacheDir: opts.CacheDir, Log: opts.Log})
		if err != nil {
			return targets.Artifact{}, err
		}
		return targets.Artifact{Version: v, Binary: path}, nil
	case len(src.Debian) > 0:
		iopts := []image.Option{image.WithName(t.spec.Name), image.WithEntrypoint(src.Command...),
			// Docker's /data is the node's data directory: there before
			// the node starts, as the other runtimes make it.
			image.WithRun("mkdir -p " + docker.DataDir)}
		if opts.Log != nil {
			iopts = append(iopts, image.WithLog(opts.Log))
		}
		ref, err := image.Debian(ctx, src.Debian, iopts...)
		if err != nil {
			return targets.Artifact{}, fmt.Errorf("source.debian: %w", err)
		}
		_, tag, _ := strings.Cut(ref.Tag, ":")
		return targets.Artifact{Version: DebianVersion + "-" + tag[:min(12, len(tag))], Image: ref.Tag}, nil
	case src.Dockerfile != "":
		h, err := hashDir(src.Dockerfile)
		if err != nil {
			return targets.Artifact{}, fmt.Errorf("read %s: %w", src.Dockerfile, err)
		}
		return targets.Artifact{Version: "dockerfile-" + h[:12], Dockerfile: src.Dockerfile}, nil
	default:
		return targets.Artifact{Version: src.Image, Image: src.Image}, nil
	}
}

// hashDir hashes the names, modes and contents of every file under dir: the
// image built from it is tagged with the hash, so an unchanged directory is
// built once.
func hashDir(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(rel), info.Mode())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			io.WriteString(h, l)
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		h.Write([]byte{0})
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// Node renders the args and env of node i. New rendered them for the same
// cluster size and options, so they do not fail here; if one does, the
// error becomes the node's only argument, where its log will show it.
func (t *Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	ns, err := t.node(i, peers)
	if err != nil {
		return targets.NodeSpec{Args: []string{"faultline-spec-error: " + err.Error()}}
	}
	return ns
}

func (t *Target) node(i int, peers []targets.Peer) (targets.NodeSpec, error) {
	d := NodeData{Peers: make([]Member, len(peers)), Options: t.options}
	for j, p := range peers {
		bind := p.Bind
		if bind == "" {
			bind = "0.0.0.0"
		}
		d.Peers[j] = Member{Index: j, Name: p.Name, Host: p.Host, Bind: bind, Ports: p.Ports, DataDir: p.DataDir}
	}
	d.Member = d.Peers[i]
	var ns targets.NodeSpec
	for _, a := range t.args {
		s, err := a.string(d)
		if err != nil {
			return ns, err
		}
		if s != "" {
			ns.Args = append(ns.Args, s)
		}
	}
	for _, e := range t.env {
		s, err := e.value.string(d)
		if err != nil {
			return ns, err
		}
		ns.Env = append(ns.Env, e.name+"="+s)
	}
	return ns, nil
}

// Healthy asks health.path, or the protocol client's own check.
func (t *Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	if t.proto != nil && t.spec.Health.Path == "" {
		return t.conn.healthy(ctx, hc, base)
	}
	code, body, err := get(ctx, hc, base+t.spec.Health.Path)
	if err != nil {
		return err
	}
	want := t.spec.Health.Status
	if len(want) == 0 {
		want = Codes{{200, 299}}
	}
	if !want.Match(code) {
		return fmt.Errorf("health: status %d (want %s) %s", code, want, snippet(body))
	}
	return nil
}

// Leader asks leader.path of every node: the one node answering leader.status
// leads, or the node whose id (leader.id) most nodes name (leader.leader).
func (t *Target) Leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	if t.proto != nil {
		return t.conn.leader(ctx, hc, bases)
	}
	l := t.spec.Leader
	if l == nil {
		return -1, fmt.Errorf("the spec of %s has no leader section", t.spec.Name)
	}
	// Asked all at once, like the built-in targets: one after the other, a
	// cut-off node would hold up the fault by its whole timeout.
	type answer struct {
		code int
		body []byte
	}
	answers, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (answer, error) {
		code, body, err := get(ctx, hc, b+l.Path)
		return answer{code, body}, err
	})
	if len(l.Status) > 0 {
		var claim []int
		for i, a := range answers {
			if errs[i] == nil && l.Status.Match(a.code) {
				claim = append(claim, i)
			}
		}
		switch len(claim) {
		case 1:
			return claim[0], nil
		case 0:
			return -1, fmt.Errorf("no node answers %s with status %s: %w", l.Path, l.Status, errors.Join(errs...))
		default:
			return -1, fmt.Errorf("%d nodes answer %s with status %s: no single leader", len(claim), l.Path, l.Status)
		}
	}
	ids, named := make([]string, len(answers)), make([]string, len(answers))
	for i, a := range answers {
		if errs[i] != nil {
			continue
		}
		doc := decodeJSON(a.body)
		id, ok1 := lookup(doc, l.ID)
		leader, ok2 := lookup(doc, l.LeaderField)
		if doc == nil || !ok1 || !ok2 {
			errs[i] = fmt.Errorf("%s%s: status %d, no fields %s and %s in %s", bases[i], l.Path, a.code, l.ID, l.LeaderField, snippet(a.body))
			continue
		}
		ids[i], named[i] = scalar(id), scalar(leader)
	}
	if i := targets.Elected(ids, named); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("no reachable node is named leader: %w", errors.Join(errs...))
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return strings.Trim(fmt.Sprint(x), `"`)
	}
}

func get(ctx context.Context, hc *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

// Client is the spec's requests (one kind of read, so no read mode), or its
// protocol client.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	if t.proto != nil {
		c, err := t.conn.client(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.spec.Name, err)
		}
		return c, nil
	}
	if cfg.ReadMode != "" {
		return nil, fmt.Errorf("%s: read mode %q: a spec target has one read request (leave --read-mode out)", t.spec.Name, cfg.ReadMode)
	}
	return targets.HTTP(&client{reqs: t.reqs, options: t.options}), nil
}
