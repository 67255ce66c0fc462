// Package image builds container images without a registry: a Debian base
// made by debootstrap and imported into the local engine, images of Debian
// packages FROM that base, and FROM-scratch images of one binary plus the
// shared libraries its loader lists (ldd's closure).
//
// Every image is tagged by its content (what it is made of), so asking for
// the same image twice builds it once: the second call finds the tag and
// returns at once. Builds are serialised across processes by a file lock per
// tag, so two runs starting cold build each image once. Nothing is pulled.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/faultline/faultline/targets/runtime"
)

// ErrNoEngine is wrapped by every error caused by a Docker engine that does
// not answer: nothing can be built, so callers refuse (exit 3).
var ErrNoEngine = errors.New("no Docker engine answers")

// Ref is a built or cached image.
type Ref struct {
	// Tag names the image, e.g. "faultline/debian-base:3f2a9c0d1e4b".
	Tag string
	// ID is the engine's image id.
	ID string
	// Size is the image's size in bytes, as the engine reports it.
	Size int64
	// Cached is true when the image was there already and nothing was built.
	Cached bool
}

// File is an extra file put into an image.
type File struct {
	// Path is absolute inside the image.
	Path string
	Data []byte
	// Mode defaults to 0644.
	Mode os.FileMode
}

// Option configures a build.
type Option func(*config)

type config struct {
	suite, variant, mirror string
	include                []string
	name                   string
	files                  []File
	run                    []string
	entrypoint, cmd        []string
	packages               []string
	cacheDir               string
	log                    func(format string, args ...any)
}

// WithSuite sets the Debian suite of the base (default "bookworm").
func WithSuite(s string) Option { return func(c *config) { c.suite = s } }

// WithVariant sets debootstrap's variant (default "minbase").
func WithVariant(v string) Option { return func(c *config) { c.variant = v } }

// WithMirror sets the Debian mirror; by default the one apt on this machine
// uses for the suite.
func WithMirror(url string) Option { return func(c *config) { c.mirror = strings.TrimRight(url, "/") } }

// WithInclude adds packages to the base itself (debootstrap --include).
func WithInclude(pkgs ...string) Option {
	return func(c *config) { c.include = append(c.include, pkgs...) }
}

// WithName sets the image's repository, "faultline/<name>" (by default
// derived from the packages or the binary).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithFile adds a file to a Debian or closure image.
func WithFile(f File) Option { return func(c *config) { c.files = append(c.files, f) } }

// WithRun adds a shell command run after the packages are installed (Debian
// images only: a FROM-scratch image has no shell).
func WithRun(cmd string) Option { return func(c *config) { c.run = append(c.run, cmd) } }

// WithEntrypoint sets the image's entrypoint (a closure image's default is
// its binary).
func WithEntrypoint(args ...string) Option { return func(c *config) { c.entrypoint = args } }

// WithCmd sets the image's default arguments.
func WithCmd(args ...string) Option { return func(c *config) { c.cmd = args } }

// WithDebianPackages makes Closure take its binary from these Debian packages
// (fetched with apt-get download and unpacked with dpkg-deb, nothing is
// installed on the host) instead of from the host's file system.
func WithDebianPackages(pkgs ...string) Option {
	return func(c *config) { c.packages = append(c.packages, pkgs...) }
}

// WithCacheDir sets where lock files and build scratch space live (default:
// the user cache dir's faultline/image).
func WithCacheDir(dir string) Option { return func(c *config) { c.cacheDir = dir } }

// WithLog receives progress lines.
func WithLog(f func(format string, args ...any)) Option { return func(c *config) { c.log = f } }

func newConfig(opts []Option) (*config, error) {
	c := &config{suite: "bookworm", variant: "minbase"}
	for _, o := range opts {
		o(c)
	}
	if c.log == nil {
		c.log = func(string, ...any) {}
	}
	if c.cacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("image: find the user cache dir: %w", err)
		}
		c.cacheDir = filepath.Join(d, "faultline", "image")
	}
	if err := os.MkdirAll(filepath.Join(c.cacheDir, "locks"), 0o755); err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	for _, f := range c.files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("image: file path %q must be absolute and clean", f.Path)
		}
	}
	return c, nil
}

// engine connects to the local Docker engine and checks that it answers.
func engine(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoEngine, oneLine(err.Error()))
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w at %s: %s", ErrNoEngine, cli.DaemonHost(), oneLine(err.Error()))
	}
	return cli, nil
}

// once returns the image tagged ref, calling build to make it unless it is
// there already. The lock makes a concurrent run wait and then find the tag.
func once(ctx context.Context, cli *client.Client, c *config, ref string, build func() error) (Ref, error) {
	if r, ok := inspect(ctx, cli, ref); ok {
		return r, nil
	}
	unlock, err := lock(filepath.Join(c.cacheDir, "locks", strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".lock"))
	if err != nil {
		return Ref{}, err
	}
	defer unlock()
	if r, ok := inspect(ctx, cli, ref); ok {
		return r, nil
	}
	start := time.Now()
	if err := build(); err != nil {
		return Ref{}, err
	}
	r, ok := inspect(ctx, cli, ref)
	if !ok {
		return Ref{}, fmt.Errorf("image %s: built, but the engine does not list it", ref)
	}
	r.Cached = false
	c.log("built %s in %.1fs (%.1f MB)", ref, time.Since(start).Seconds(), float64(r.Size)/1e6)
	return r, nil
}

func inspect(ctx context.Context, cli *client.Client, ref string) (Ref, bool) {
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return Ref{}, false
	}
	return Ref{Tag: ref, ID: res.ID, Size: res.Size, Cached: true}, true
}

// buildContext is a Docker build context: a Dockerfile plus files.
type buildContext struct {
	buf bytes.Buffer
	tw  *tar.Writer
}

func newBuildContext(dockerfile string) (*buildContext, error) {
	b := &buildContext{}
	b.tw = tar.NewWriter(&b.buf)
	return b, b.add("Dockerfile", []byte(dockerfile), 0o644)
}

func (b *buildContext) add(name string, data []byte, mode os.FileMode) error {
	if mode == 0 {
		mode = 0o644
	}
	// Parent directories first, so COPY keeps them ordinary 0755 dirs.
	for _, d := range parents(name) {
		if err := b.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := b.tw.WriteHeader(&tar.Header{Name: name, Mode: int64(mode.Perm()), Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := b.tw.Write(data)
	return err
}

func parents(name string) []string {
	var ds []string
	for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
		ds = append([]string{d}, ds...)
	}
	return ds
}

// dockerBuild builds the context through the engine API: the classic
// builder, never pulling (no registry is reachable; FROM names a local
// image or scratch).
func dockerBuild(ctx context.Context, cli *client.Client, c *config, ref string, bc *buildContext) error {
	if err := bc.tw.Close(); err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, &bc.buf, client.ImageBuildOptions{
		Tags:        []string{ref},
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
		Labels:      map[string]string{runtime.LabelApp: "image"},
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer res.Body.Close()
	return readStream(res.Body, c.log, "build image "+ref)
}

// readStream reads the engine's JSON progress stream, passing build steps
// to log, and returns its error (with the last lines of output, which say
// why) if it ends with one.
func readStream(r io.Reader, log func(string, ...any), what string) error {
	dec := json.NewDecoder(r)
	var tail []byte // the end of the output; chunks are not whole lines
	for {
		var m struct {
			Stream      string `json:"stream"`
			Status      string `json:"status"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: read the engine's answer: %w", what, err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			if last := lastOutput(tail, 3); last != "" {
				msg += " (last output: " + last + ")"
			}
			return fmt.Errorf("%s: %s", what, oneLine(msg))
		}
		if strings.HasPrefix(m.Stream, "Step ") {
			log("%s", strings.TrimSpace(m.Stream))
		}
		tail = append(tail, m.Stream+m.Status...)
		if len(tail) > 4096 {
			tail = tail[len(tail)-4096:]
		}
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// lastOutput is the last n lines a build printed, without colours and the
// builder's own bookkeeping.
func lastOutput(b []byte, n int) string {
	var keep []string
	for _, l := range strings.Split(ansi.ReplaceAllString(string(b), ""), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "--->") || strings.HasPrefix(l, "Removing intermediate container") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " | ")
}

// hashOf is the content address of parts: 12 hex digits of their SHA-256.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// filesKey is the content address of extra files.
func filesKey(fs []File) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		s := sha256.Sum256(f.Data)
		parts = append(parts, fmt.Sprintf("%s %o %x", f.Path, f.Mode, s))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// repoName keeps what Docker allows in a repository name.
func repoName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_') {
			b[i] = '-'
		}
	}
	s = strings.Trim(string(b), ".-_")
	if len(s) > 60 {
		s = s[:60]
	}
	if s == "" {
		s = "image"
	}
	return s
}

func jsonArgs(args []string) string {
	b, _ := json.Marshal(args)
	return string(b)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func dedupSorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	j := 0
	for i, x := range out {
		if x == "" || (i > 0 && x == out[i-1]) {
			continue
		}
		out[j] = x
		j++
	}
	return out[:j]
}
