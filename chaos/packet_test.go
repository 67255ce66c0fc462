package chaos_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/echo"
	"github.com/faultline/faultline/targets/runtime"
)

// probe is what n numbered UDP datagrams, sent from inside a namespace to
// an echo node, came back as.
type probe struct {
	sent     int
	rtt      []time.Duration // first echo of each datagram that came back
	arrivals int             // every echo, duplicates included
	unique   int
	// late counts echoes of a datagram sent before one already echoed.
	late int
}

// udpProbe sends n datagrams from the namespace nsPath to addr, one every
// gap, and collects the echoes.
func udpProbe(t *testing.T, nsPath, addr string, n int, gap time.Duration) probe {
	t.Helper()
	c := udpConnFrom(t, nsPath, addr)
	defer c.Close()
	sentAt := make([]time.Time, n)
	var mu sync.Mutex
	first := map[int]time.Duration{}
	var p probe
	p.sent = n
	maxSeen := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			k, err := c.Read(buf)
			now := time.Now()
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					return
				}
				continue
			}
			seq, err := strconv.Atoi(strings.TrimPrefix(string(buf[:k]), "p "))
			if err != nil || seq < 0 || seq >= n {
				continue
			}
			mu.Lock()
			p.arrivals++
			if _, dup := first[seq]; !dup {
				first[seq] = now.Sub(sentAt[seq])
				if seq < maxSeen {
					p.late++
				}
			}
			maxSeen = max(maxSeen, seq)
			mu.Unlock()
		}
	}()
	for i := range n {
		mu.Lock()
		sentAt[i] = time.Now()
		mu.Unlock()
		_, _ = fmt.Fprintf(c, "p %d", i)
		time.Sleep(gap)
	}
	<-done
	for i := range n {
		if d, ok := first[i]; ok {
			p.rtt = append(p.rtt, d)
		}
	}
	p.unique = len(first)
	return p
}

func udpConnFrom(t *testing.T, nsPath, addr string) net.Conn {
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
	return c
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func stddev(d []time.Duration) time.Duration {
	var sum float64
	for _, x := range d {
		sum += float64(x)
	}
	mean := sum / float64(len(d))
	var v float64
	for _, x := range d {
		v += (float64(x) - mean) * (float64(x) - mean)
	}
	return time.Duration(math.Sqrt(v / float64(len(d)-1)))
}

// iqrPerSD is the interquartile range of each distribution of the packet
// fault in units of its standard deviation: IQR/iqrPerSD estimates the
// spread without the machine's scheduling outliers, which inflate a sample
// standard deviation.
var iqrPerSD = map[string]float64{
	"uniform": math.Sqrt(3),
	"normal":  1.3490,
	// Pareto of shape 5: (0.25^-0.2 - 0.75^-0.2) / sqrt(5/48).
	"pareto": (math.Pow(0.25, -0.2) - math.Pow(0.75, -0.2)) / math.Sqrt(5.0/48),
}

func iqr(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*3/4] - s[len(s)/4]
}

// histogram draws the one-way delays in 1 ms bins.
func histogram(d []time.Duration) string {
	bins := map[int]int{}
	lo, hi := math.MaxInt, 0
	for _, x := range d {
		b := int(x / time.Millisecond)
		bins[b]++
		lo, hi = min(lo, b), max(hi, b)
	}
	peak := 0
	for _, c := range bins {
		peak = max(peak, c)
	}
	var b strings.Builder
	for k := lo; k <= hi; k++ {
		fmt.Fprintf(&b, "%4d ms %5d %s\n", k, bins[k], strings.Repeat("#", bins[k]*50/peak))
	}
	return b.String()
}

type packetRig struct {
	env   *chaos.Env
	nodes []runtime.Node
	ns    []string
}

func newPacketRig(t *testing.T) *packetRig {
	_, nodes := cluster(t)
	r := &packetRig{env: newEnv(nodes, chaos.NewNetlinkFirewall()), nodes: nodes}
	for _, n := range nodes {
		p, err := n.NetNS(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r.ns = append(r.ns, p)
	}
	return r
}

func (r *packetRig) echoAddr(i int) string {
	return net.JoinHostPort(r.nodes[i].Addr(), fmt.Sprint(echo.Port))
}

// start injects spec (as --nemesis gives it) and heals it when the test
// ends, whatever happens.
func (r *packetRig) start(t *testing.T, spec string, seed uint64) (*history.Fault, func()) {
	t.Helper()
	f, err := chaos.Lookup(spec, chaos.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	act, err := f.Start(ctx, r.env, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatalf("start %s: %v", spec, err)
	}
	t.Logf("%s: %s", spec, act.Fault.Detail)
	healed := false
	heal := func() {
		if healed {
			return
		}
		healed = true
		d, err := act.Heal(ctx)
		if err != nil {
			t.Errorf("heal %s: %v", spec, err)
		}
		t.Logf("healed: %s", d)
	}
	t.Cleanup(func() {
		heal()
		_ = chaos.HealAll(ctx, r.env)
		assertNoTables(t, r.nodes)
	})
	return act.Fault, heal
}

// TestPacketDelayDistributions delays only n1->n3 and measures UDP echo
// round trips n1 -> n3 -> n1 against those without the fault: the
// difference is the link's delay. It logs the median, the spread and a
// histogram; it asserts no timing (the machine is shared), only that the
// links not named are untouched in what they carry.
func TestPacketDelayDistributions(t *testing.T) {
	r := newPacketRig(t)
	const n = 600
	base := udpProbe(t, r.ns[0], r.echoAddr(2), n, time.Millisecond)
	b0 := median(base.rtt)
	t.Logf("no fault: n1->n3->n1 round trip median %v, sd %v over %d", b0, stddev(base.rtt), len(base.rtt))
	for _, dist := range []string{"uniform", "normal", "pareto"} {
		t.Run(dist, func(t *testing.T) {
			const want, spread = 20 * time.Millisecond, 5 * time.Millisecond
			_, heal := r.start(t, fmt.Sprintf("packet:delay=%v,jitter=%v,dist=%s,links=n1->n3", want, spread, dist), 7)
			p := udpProbe(t, r.ns[0], r.echoAddr(2), n, time.Millisecond)
			other := udpProbe(t, r.ns[1], r.echoAddr(2), 200, time.Millisecond)
			heal()
			if p.unique < n*98/100 || p.arrivals != p.unique {
				t.Errorf("a pure delay lost or duplicated datagrams: %d of %d came back, %d echoes", p.unique, n, p.arrivals)
			}
			oneway := make([]time.Duration, len(p.rtt))
			for i, x := range p.rtt {
				oneway[i] = x - b0
			}
			m, sd := median(oneway), stddev(oneway)
			robust := time.Duration(float64(iqr(oneway)) / iqrPerSD[dist])
			t.Logf("%s: asked median %v jitter (sd) %v; measured median %v (off by %v), spread from the IQR %v (%+.0f%%), sample sd %v; n2->n3->n2 median %v (not named)\n%s",
				dist, want, spread, m.Round(10*time.Microsecond), (m - want).Round(10*time.Microsecond),
				robust.Round(10*time.Microsecond), 100*(float64(robust)-float64(spread))/float64(spread),
				sd.Round(10*time.Microsecond), median(other.rtt), histogram(oneway))
			if other.unique != other.sent {
				t.Errorf("n2->n3 is not named but lost %d of %d datagrams", other.sent-other.unique, other.sent)
			}
		})
	}
}

// TestPacketRates asks for loss, duplication and reordering on n1->n3 and
// counts what comes back.
func TestPacketRates(t *testing.T) {
	r := newPacketRig(t)
	const n = 3000
	for _, tc := range []struct {
		spec string
		rate func(p probe) float64
		want float64
	}{
		{"packet:loss=10,links=n1->n3", func(p probe) float64 { return 1 - float64(p.unique)/float64(p.sent) }, 0.10},
		{"packet:duplicate=10,links=n1->n3", func(p probe) float64 { return float64(p.arrivals-p.unique) / float64(p.unique) }, 0.10},
		{"packet:reorder=10,links=n1->n3", func(p probe) float64 { return float64(p.late) / float64(p.unique) }, 0.10},
		{"packet:corrupt=10,links=n1->n3", func(p probe) float64 { return 1 - float64(p.unique)/float64(p.sent) }, 0.10},
	} {
		t.Run(strings.SplitN(strings.TrimPrefix(tc.spec, "packet:"), "=", 2)[0], func(t *testing.T) {
			_, heal := r.start(t, tc.spec, 11)
			p := udpProbe(t, r.ns[0], r.echoAddr(2), n, 300*time.Microsecond)
			other := udpProbe(t, r.ns[1], r.echoAddr(2), 300, 300*time.Microsecond)
			heal()
			got := tc.rate(p)
			t.Logf("%s: asked %.0f%%, measured %.2f%% (%d sent, %d came back, %d echoes, %d late); n2->n3 (not named): %d of %d back, %d echoes, %d late",
				tc.spec, tc.want*100, got*100, p.sent, p.unique, p.arrivals, p.late, other.unique, other.sent, other.arrivals, other.late)
			if math.Abs(got-tc.want) > 0.02 {
				t.Errorf("%s: measured %.2f%%, want %.0f%% ± 2 points", tc.spec, got*100, tc.want*100)
			}
			if other.unique != other.sent || other.arrivals != other.sent || other.late != 0 {
				t.Errorf("n2->n3 is not named but changed: %d of %d back, %d echoes, %d late", other.unique, other.sent, other.arrivals, other.late)
			}
		})
	}
}

// TestPacketClientUntouched puts 100% loss on every link between nodes:
// the nodes cannot reach each other, the harness still reaches every node.
func TestPacketClientUntouched(t *testing.T) {
	r := newPacketRig(t)
	f, heal := r.start(t, "packet:loss=100", 3)
	m, c := reach(t, r.nodes)
	heal()
	if len(f.Links) != len(r.nodes)*(len(r.nodes)-1) {
		t.Errorf("links %v, want every directed link", f.Links)
	}
	for a := range r.nodes {
		if !c[a] {
			t.Errorf("the harness lost %s: client traffic must be untouched", r.nodes[a].Name())
		}
		for b := range r.nodes {
			if a != b && m[a][b] {
				t.Errorf("%s reached %s through 100%% loss", r.nodes[a].Name(), r.nodes[b].Name())
			}
		}
	}
	assertFull(t, r.nodes)
}

// TestPacketQueueThroughput sends a bounded stream of lines over TCP from
// n1 to n3's echo and back, without a fault and through the queue with
// 0 ms delay on both directions, and logs the ratio. No timing assertion.
func TestPacketQueueThroughput(t *testing.T) {
	r := newPacketRig(t)
	run := func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := dialFrom(ctx, r.ns[0], r.echoAddr(2))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		const lines, size = 20000, 1000
		line := strings.Repeat("x", size-1) + "\n"
		start := time.Now()
		go func() {
			w := bufio.NewWriter(c)
			for range lines {
				if _, err := w.WriteString(line); err != nil {
					return
				}
			}
			_ = w.Flush()
		}()
		rd := bufio.NewReader(c)
		for i := range lines {
			if _, err := rd.ReadString('\n'); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
		}
		return float64(lines*size) / time.Since(start).Seconds()
	}
	none := run()
	_, heal := r.start(t, "packet:links=n1->n3+n3->n1", 5)
	queued := run()
	heal()
	t.Logf("TCP echo n1<->n3, 20 MB each way: no fault %.1f MB/s, through the queue (0 ms) %.1f MB/s: ratio %.2f",
		none/1e6, queued/1e6, queued/none)
}
