package chaos_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/vishvananda/netns"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/echo"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
)

// One 5-node echo cluster serves every test of the package: launching it
// costs seconds, and each test heals what it does.
var shared struct {
	once    sync.Once
	rt      *docker.Runtime
	cluster runtime.Cluster
	runID   string
	err     error
}

func TestMain(m *testing.M) {
	tclog.SetDefault(tclog.NewNoopLogger())
	code := m.Run()
	if shared.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := shared.cluster.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "close cluster:", err)
		}
		cancel()
	}
	os.Exit(code)
}

// cluster returns the shared cluster, launching it the first time. Tests
// that need it are skipped without root or Docker.
func cluster(t *testing.T) (*docker.Runtime, []runtime.Node) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: probes run inside the nodes' network namespaces")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		rt, err := docker.New(ctx)
		if err != nil {
			shared.err = err
			return
		}
		tgt := echo.New()
		art, err := tgt.Prepare(ctx, "", targets.PrepareOptions{})
		if err != nil {
			shared.err = err
			return
		}
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		shared.runID = hex.EncodeToString(b) // a run id as runtime.NewRunID makes them
		shared.rt = rt
		shared.cluster, shared.err = rt.Launch(ctx, runtime.ClusterSpec{RunID: shared.runID, Target: tgt, Artifact: art,
			Nodes: 5, HealthTimeout: time.Minute, LogDir: os.TempDir() + "/" + shared.runID})
	})
	if shared.err != nil {
		t.Fatalf("launch the echo cluster: %v", shared.err)
	}
	return shared.rt, shared.cluster.Nodes()
}

func newEnv(nodes []runtime.Node, fw chaos.Firewall) *chaos.Env {
	return &chaos.Env{Nodes: nodes, Target: echo.New(), Firewall: fw}
}

// dialFrom opens a TCP connection to addr from inside the network namespace
// at nsPath: the socket belongs to the namespace it was created in.
func dialFrom(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	goruntime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		goruntime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		goruntime.UnlockOSThread()
		return nil, err
	}
	var d net.Dialer
	c, derr := d.DialContext(ctx, "tcp", addr)
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime discards it.
		panic("restore network namespace: " + err.Error())
	}
	goruntime.UnlockOSThread()
	return c, derr
}

// udpFrom sends n datagrams to addr from inside nsPath and counts the echoes.
func udpFrom(t *testing.T, nsPath, addr string, n int) int {
	t.Helper()
	goruntime.LockOSThread()
	orig, _ := netns.Get()
	defer orig.Close()
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		goruntime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		goruntime.UnlockOSThread()
		t.Fatal(err)
	}
	c, derr := net.Dial("udp", addr)
	if err := netns.Set(orig); err != nil {
		panic(err)
	}
	goruntime.UnlockOSThread()
	if derr != nil {
		t.Fatal(derr)
	}
	defer c.Close()
	// Send everything first, then collect: lost datagrams cost no waiting.
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			k, err := c.Read(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					return
				}
				continue // e.g. ICMP refusals
			}
			seen[string(buf[:k])] = true
		}
	}()
	for i := range n {
		_, _ = fmt.Fprintf(c, "dgram %d", i)
		time.Sleep(time.Millisecond)
	}
	<-done
	return len(seen)
}

// reach probes every ordered pair of nodes: reach[a][b] says a could open a
// TCP connection to b and get its line echoed. client[b] says the harness
// reached b through its published port.
func reach(t *testing.T, nodes []runtime.Node) (matrix [][]bool, client []bool) {
	t.Helper()
	ctx := context.Background()
	ns := make([]string, len(nodes))
	for i, n := range nodes {
		p, err := n.NetNS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ns[i] = p
	}
	matrix = make([][]bool, len(nodes))
	client = make([]bool, len(nodes))
	var wg sync.WaitGroup
	for a := range nodes {
		matrix[a] = make([]bool, len(nodes))
		for b := range nodes {
			if a == b {
				matrix[a][b] = true
				continue
			}
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
				defer cancel()
				c, err := dialFrom(ctx, ns[a], net.JoinHostPort(nodes[b].Addr(), fmt.Sprint(echo.Port)))
				if err == nil {
					_, err = echo.Exchange(ctx, c, "hello from "+nodes[a].Name())
				}
				matrix[a][b] = err == nil
			})
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
			defer cancel()
			_, err := echo.Say(ctx, echo.HostPort(nodes[a].Endpoint(targets.ClientPort)), "hello from the harness")
			client[a] = err == nil
		})
	}
	wg.Wait()
	return matrix, client
}

func show(nodes []runtime.Node, m [][]bool, client []bool) string {
	var b strings.Builder
	b.WriteString("     ")
	for _, n := range nodes {
		fmt.Fprintf(&b, "%-4s", n.Name())
	}
	b.WriteString("\n")
	for a := range m {
		fmt.Fprintf(&b, "%-4s ", nodes[a].Name())
		for _, ok := range m[a] {
			b.WriteString(map[bool]string{true: "+   ", false: ".   "}[ok])
		}
		b.WriteString("\n")
	}
	b.WriteString("harn ")
	for _, ok := range client {
		b.WriteString(map[bool]string{true: "+   ", false: ".   "}[ok])
	}
	return b.String()
}

// assertFull fails unless every node reaches every other and the harness
// reaches every node; a node restarted a moment ago gets a few tries.
func assertFull(t *testing.T, nodes []runtime.Node) {
	t.Helper()
	var m [][]bool
	var c []bool
	for try := 0; try < 20; try++ {
		m, c = reach(t, nodes)
		if full(m, c) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("connectivity not full after heal:\n%s", show(nodes, m, c))
}

func full(m [][]bool, c []bool) bool {
	for a := range m {
		if !c[a] || slices.Contains(m[a], false) {
			return false
		}
	}
	return true
}

// assertNoTables checks with the nft tool, in every node's namespace, that
// no Faultline table is left.
func assertNoTables(t *testing.T, nodes []runtime.Node) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Log("nft not installed: table check skipped")
		return
	}
	for _, n := range nodes {
		ns, err := n.NetNS(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("nsenter", "--net="+ns, "nft", "list", "ruleset").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list ruleset in %s: %v: %s", n.Name(), err, out)
		}
		if strings.Contains(string(out), "faultline") {
			t.Errorf("%s still has Faultline's table:\n%s", n.Name(), out)
		}
	}
}

// memRec records nemesis events in memory.
type memRec struct {
	mu       sync.Mutex
	start    time.Time
	events   []history.Event
	onAppend func(history.Event)
}

func newRec() *memRec        { return &memRec{start: time.Now()} }
func (r *memRec) Now() int64 { return int64(time.Since(r.start)) }
func (r *memRec) Append(e history.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	f := r.onAppend
	r.mu.Unlock()
	if f != nil {
		f(e)
	}
}
func (r *memRec) all() []history.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}
