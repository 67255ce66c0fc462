package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/faultline/faultline/targets/runtime"
)

// The Docker tests build real images and keep them: they are the cache, so
// only the first run on a machine pays (measured on 2 cores: base ~40 s,
// netcat image ~15 s, redis closure ~5 s); later runs find every tag.

func dockerOrSkip(t *testing.T) *client.Client {
	t.Helper()
	cli, err := engine(context.Background())
	if err != nil {
		t.Skipf("%v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func logTo(t *testing.T) Option {
	return WithLog(func(f string, a ...any) { t.Logf(f, a...) })
}

// start runs a container of img (removed at the end of the test).
func start(t *testing.T, ctx context.Context, cli *client.Client, img string, cmd ...string) string {
	t.Helper()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{
		Image:  img,
		Cmd:    cmd,
		Labels: map[string]string{runtime.LabelApp: "true", runtime.LabelRun: "image-test"},
	}})
	if err != nil {
		t.Fatalf("create a container of %s: %v", img, err)
	}
	t.Cleanup(func() {
		if _, err := cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container: %v", err)
		}
	})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start %s: %v", img, err)
	}
	return res.ID
}

// runOut runs cmd in a container of img and returns its exit code and output.
func runOut(t *testing.T, ctx context.Context, cli *client.Client, img string, cmd ...string) (int64, string) {
	t.Helper()
	id := start(t, ctx, cli, img, cmd...)
	w := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var code int64
	select {
	case r := <-w.Result:
		code = r.StatusCode
	case err := <-w.Error:
		t.Fatalf("wait for %s: %v", img, err)
	}
	logs, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, logs); err != nil {
		t.Fatalf("logs: %v", err)
	}
	return code, out.String()
}

func TestNoEngineIsOneLineRefusal(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	for name, f := range map[string]func() error{
		"base": func() error { _, err := Base(context.Background(), WithCacheDir(t.TempDir())); return err },
		"debian": func() error {
			_, err := Debian(context.Background(), []string{"hello"}, WithCacheDir(t.TempDir()))
			return err
		},
		"closure": func() error {
			_, err := Closure(context.Background(), "/bin/true", WithCacheDir(t.TempDir()))
			return err
		},
	} {
		err := f()
		if !errors.Is(err, ErrNoEngine) {
			t.Fatalf("%s: err = %v, want ErrNoEngine", name, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: refusal is not one line: %q", name, err)
		}
	}
}

func TestBaseBuiltOnceThenCached(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	first, err := Base(ctx, logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	again, err := Base(ctx, logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Base: first call %.2fs (cached=%v), second %.2fs", t1.Sub(t0).Seconds(), first.Cached, time.Since(t1).Seconds())
	if !again.Cached || again.ID != first.ID || again.Tag != first.Tag {
		t.Fatalf("second Base = %+v, want the cached %+v", again, first)
	}
	if !strings.HasPrefix(first.Tag, BaseRepo+":") {
		t.Errorf("tag %s not in %s", first.Tag, BaseRepo)
	}
	code, out := runOut(t, ctx, cli, first.Tag, "cat", "/etc/debian_version")
	if code != 0 || !strings.HasPrefix(out, "12.") {
		t.Errorf("bookworm base: /etc/debian_version = %q (exit %d)", out, code)
	}
	// Another suite or variant is another image.
	other, _ := baseRef(&config{suite: "bookworm", variant: "buildd", mirror: "http://deb.debian.org/debian"})
	same, _ := baseRef(&config{suite: "bookworm", variant: "minbase", mirror: "http://deb.debian.org/debian"})
	if other == same {
		t.Errorf("variant not in the base's tag: %s", same)
	}
}

func TestDebianPackageImage(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	r, err := Debian(ctx, []string{"netcat-openbsd"}, logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	again, err := Debian(ctx, []string{"netcat-openbsd"}, logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Debian: first call %.2fs (cached=%v), second %.2fs; %.1f MB", t1.Sub(t0).Seconds(), r.Cached, time.Since(t1).Seconds(), float64(r.Size)/1e6)
	if !again.Cached || again.ID != r.ID {
		t.Fatalf("second Debian = %+v, want the cached %+v", again, r)
	}
	// The package is installed (dpkg knows it) and its program runs: nc
	// listens and receives a line on the container's loopback (the client
	// retries until the listener is up, 50 times at most).
	code, out := runOut(t, ctx, cli, r.Tag, "sh", "-c", `dpkg-query -W -f='${Status}\n' netcat-openbsd &&
		{ nc -d -l 127.0.0.1 7777 & for i in $(seq 50); do echo hello-nc | nc -N 127.0.0.1 7777 2>/dev/null && break; sleep 0.1; done; wait; }`)
	if code != 0 || !strings.Contains(out, "install ok installed") || !strings.Contains(out, "hello-nc") {
		t.Errorf("netcat image: exit %d, output %q", code, out)
	}
}

func TestRedisClosureFromScratchAnswersPing(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := []Option{WithDebianPackages("redis-server"), logTo(t)}
	t0 := time.Now()
	r, err := Closure(ctx, "/usr/bin/redis-server", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	again, err := Closure(ctx, "/usr/bin/redis-server", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Closure: first call %.2fs (cached=%v), second %.2fs", t1.Sub(t0).Seconds(), r.Cached, time.Since(t1).Seconds())
	if !again.Cached || again.ID != r.ID {
		t.Fatalf("second Closure = %+v, want the cached %+v", again, r)
	}
	t.Logf("%s: %.1f MB", r.Tag, float64(r.Size)/1e6)
	t2 := time.Now()
	defer func() { t.Logf("redis answered PING %.2fs after create", time.Since(t2).Seconds()) }()
	// Protected mode refuses clients from outside the container's loopback.
	id := start(t, ctx, cli, r.Tag, "--protected-mode", "no", "--save", "")
	ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	for _, n := range ins.Container.NetworkSettings.Networks {
		if n.IPAddress.IsValid() {
			addr = n.IPAddress.String()
		}
	}
	if addr == "" {
		t.Fatal("redis container has no address")
	}
	var lastErr error
	for i := 0; i < 50; i++ { // ~10 s at most
		if lastErr = ping(net.JoinHostPort(addr, "6379")); lastErr == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, out := logsOf(ctx, cli, id)
	t.Fatalf("redis-server FROM scratch never answered PING: %v (state %s, logs %q)", lastErr, code, out)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("answer " + line)
	}
	return nil
}

func logsOf(ctx context.Context, cli *client.Client, id string) (string, string) {
	ins, _ := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	state := ""
	if ins.Container.State != nil {
		state = string(ins.Container.State.Status)
	}
	logs, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return state, err.Error()
	}
	defer logs.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, logs)
	return state, out.String()
}

// Two builders asking for the same new image at once build it once: the
// other waits on the lock and finds the tag. A host binary's closure (ldd on
// the host) with a fresh file keeps this cheap and always cold.
func TestConcurrentBuildsBuildOnce(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nonce := make([]byte, 8)
	rand.Read(nonce)
	opts := []Option{WithName("closure-test"), WithFile(File{Path: "/etc/nonce", Data: []byte(hex.EncodeToString(nonce))}), logTo(t)}
	var wg sync.WaitGroup
	refs := make([]Ref, 2)
	errs := make([]error, 2)
	for i := range refs {
		wg.Go(func() { refs[i], errs[i] = Closure(ctx, "/bin/true", opts...) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), refs[0].Tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove test image: %v", err)
		}
	})
	if refs[0].ID != refs[1].ID || refs[0].Cached == refs[1].Cached {
		t.Fatalf("two concurrent builds: %+v and %+v, want one built and one cached, same id", refs[0], refs[1])
	}
	if code, out := runOut(t, ctx, cli, refs[0].Tag); code != 0 {
		t.Errorf("/bin/true FROM scratch with its ldd closure: exit %d, %q", code, out)
	}
}

func TestMirrorFromAptSources(t *testing.T) {
	deb822 := `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`
	if got := mirrorDeb822(deb822, "bookworm"); got != "http://deb.debian.org/debian" {
		t.Errorf("deb822 bookworm = %q", got)
	}
	if got := mirrorDeb822(deb822, "bookworm-security"); got != "http://deb.debian.org/debian-security" {
		t.Errorf("deb822 bookworm-security = %q", got)
	}
	if got := mirrorDeb822("Types: deb\nEnabled: no\nURIs: http://x/debian\nSuites: bookworm\n", "bookworm"); got != "" {
		t.Errorf("disabled stanza used: %q", got)
	}
	if got := mirrorDeb822("Types: deb-src\nURIs: http://x/debian\nSuites: bookworm\n", "bookworm"); got != "" {
		t.Errorf("deb-src stanza used: %q", got)
	}
	one := "# comment\ndeb-src http://src/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n"
	if got := mirrorOneLine(one, "bookworm"); got != "http://mirror.example/debian" {
		t.Errorf("one-line = %q", got)
	}
	if got := mirrorOneLine(one, "trixie"); got != "" {
		t.Errorf("one-line trixie = %q", got)
	}
}

func TestParseLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n" +
		"\tlibssl.so.3 => /r/usr/lib/x86_64-linux-gnu/libssl.so.3 (0x00007f78)\n" +
		"\tlibgone.so.1 => not found\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f93)\n" +
		"\t/lib64/ld-linux-x86-64.so.2 => /r/lib64/ld-linux-x86-64.so.2 (0x00007f78)\n"
	libs, missing := parseLdd(out)
	want := []string{"/r/usr/lib/x86_64-linux-gnu/libssl.so.3", "/lib64/ld-linux-x86-64.so.2", "/r/lib64/ld-linux-x86-64.so.2"}
	if !slices.Equal(libs, want) || !slices.Equal(missing, []string{"libgone.so.1"}) {
		t.Errorf("parseLdd = %q, %q", libs, missing)
	}
}

func TestParseDependsGraph(t *testing.T) {
	out := `redis-server
  PreDepends: init-system-helpers
  Depends: lsb-base
    sysvinit-utils
  Depends: redis-tools
redis-tools
  Depends: libc6
  |Depends: libsystemd0
  Depends: libelogind0
    libelogind0
  Depends: <debconf-2.0>
    debconf
  Depends: perl:any
<debconf-2.0>
libc6
  Depends: libgcc-s1
`
	g := parseDependsGraph(out)
	want := map[string][]string{
		"redis-server": {"init-system-helpers", "lsb-base", "redis-tools"},
		"redis-tools":  {"libc6", "libsystemd0", "perl"},
		"libc6":        {"libgcc-s1"},
	}
	if len(g) != len(want) {
		t.Errorf("graph = %q, want %q", g, want)
	}
	for p, deps := range want {
		if !slices.Equal(g[p], deps) {
			t.Errorf("%s depends on %q, want %q", p, g[p], deps)
		}
	}
}

// A package's absolute symlink resolves inside the tree, never on the host.
func TestResolveInStaysInTree(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "lib/x86_64-linux-gnu"), 0o755)
	os.MkdirAll(filepath.Join(root, "lib64"), 0o755)
	os.WriteFile(filepath.Join(root, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), []byte("loader"), 0o755)
	os.Symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", filepath.Join(root, "lib64/ld-linux-x86-64.so.2"))
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/redis-check-rdb"), []byte("bin"), 0o755)
	os.Symlink("redis-check-rdb", filepath.Join(root, "usr/bin/redis-server"))
	for p, want := range map[string]string{
		"/lib64/ld-linux-x86-64.so.2": filepath.Join(root, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		"/usr/bin/redis-server":       filepath.Join(root, "usr/bin/redis-check-rdb"),
	} {
		if got, err := resolveIn(root, p); err != nil || got != want {
			t.Errorf("resolveIn(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
	os.Symlink("loop", filepath.Join(root, "loop"))
	if _, err := resolveIn(root, "/loop"); err == nil {
		t.Error("a symlink loop resolved")
	}
}

func TestTagsFollowContent(t *testing.T) {
	a := debianDockerfile("b:1", []string{"x"}, &config{})
	b := debianDockerfile("b:1", []string{"x"}, &config{run: []string{"true"}})
	c := debianDockerfile("b:2", []string{"x"}, &config{})
	if hashOf(a) == hashOf(b) || hashOf(a) == hashOf(c) {
		t.Error("extra commands or another base do not change the tag")
	}
	f1 := filesKey([]File{{Path: "/a", Data: []byte("1")}, {Path: "/b", Data: []byte("2")}})
	f2 := filesKey([]File{{Path: "/b", Data: []byte("2")}, {Path: "/a", Data: []byte("1")}})
	f3 := filesKey([]File{{Path: "/a", Data: []byte("1")}, {Path: "/b", Data: []byte("3")}})
	if f1 != f2 || f1 == f3 {
		t.Error("files key depends on order, or not on content")
	}
	if hashOf("ab", "c") == hashOf("a", "bc") {
		t.Error("hashOf is ambiguous")
	}
}

func TestBuildErrorSaysWhy(t *testing.T) {
	stream := `{"stream":"Step 3/4 : RUN apt-get install nope"}
{"stream":"\n"}
{"stream":"\u001b[91mE"}
{"stream":": Unable to locate package nope\n\u001b[0m"}
{"stream":"Removing intermediate container 1c814b6593ef\n"}
{"errorDetail":{"code":100,"message":"The command '/bin/sh -c apt-get install nope' returned a non-zero code: 100"},"error":"x"}
`
	var steps []string
	err := readStream(strings.NewReader(stream), func(f string, a ...any) { steps = append(steps, f) }, "build image x")
	want := "build image x: The command '/bin/sh -c apt-get install nope' returned a non-zero code: 100 (last output: Step 3/4 : RUN apt-get install nope | E: Unable to locate package nope)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if len(steps) != 1 {
		t.Errorf("steps logged: %q", steps)
	}
	if err := readStream(strings.NewReader(`{"stream":"Step 1/1 : FROM scratch\n"}`+"\n"), func(string, ...any) {}, "b"); err != nil {
		t.Errorf("a clean stream: %v", err)
	}
}
