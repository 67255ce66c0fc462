package netfault

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Shaper reads one namespace's NFQUEUE and gives each packet its verdict: now
// (pass, drop), later (delay, rate, reorder), changed (corrupt), or with a
// copy sent (duplicate). One goroutine reads and decides, so the random
// draws come in queue order from one seeded source; another releases held
// packets on time.
type Shaper struct {
	q     *Queue
	shape Shape
	rnd   *rand.Rand
	node  string
	links map[[4]byte]*linkState

	mu      sync.Mutex
	pending releases
	seq     uint64
	// wake is an eventfd that interrupts the release loop's wait when a
	// packet is due before the one it waits for. The wait is ppoll, with
	// nanosecond timeouts: Go's timers sleep in epoll, whose millisecond
	// timeouts make short waits late by up to a millisecond.
	wake int
	// draining passes every packet at once: the rules are gone, what is
	// still queued goes out unchanged.
	draining bool
	readErr  error
	newHead  bool
	// batch is the highest id of plain accepts not yet given (read loop
	// only).
	batch uint32

	readDone, relDone chan struct{}
	stopOnce          sync.Once
	stopped           string
}

type linkState struct {
	name string
	// nextFree is when the link has sent what it was given (rate cap).
	nextFree time.Time
	// held is a packet kept back to arrive after the next one (reorder).
	held *release
	counts
}

type counts struct {
	seen, dropped, duplicated, reordered, corrupted int
}

type release struct {
	at      time.Time
	seq     uint64
	id      uint32
	payload []byte // replacement (corruption), or nil
	dup     []byte // a copy to send after the verdict, or nil
	link    *linkState
	// heldUntil is the deadline of a held packet with no successor yet;
	// wakeOnly marks the entry that wakes the release loop for it.
	heldUntil time.Time
	wakeOnly  bool
}

type releases []*release

func (r releases) Len() int { return len(r) }
func (r releases) Less(i, j int) bool {
	if r[i].at.Equal(r[j].at) {
		return r[i].seq < r[j].seq
	}
	return r[i].at.Before(r[j].at)
}
func (r releases) Swap(i, j int) { r[i], r[j] = r[j], r[i] }
func (r *releases) Push(x any)   { *r = append(*r, x.(*release)) }
func (r *releases) Pop() any {
	old := *r
	x := old[len(old)-1]
	*r = old[:len(old)-1]
	return x
}

// heldTimeout bounds how long a reordered packet waits for a successor:
// on an idle link it then goes out in order.
const heldTimeout = 50 * time.Millisecond

// ShapeLink is one directed link a Shaper shapes: what the namespace sends
// to Dst.
type ShapeLink struct {
	Dst  netip.Addr `json:"dst"`
	Name string     `json:"name"` // n1->n3, for the summary
}

// ShapeRequest is what a Shaper starts from; it travels as JSON to the
// sidecar agent.
type ShapeRequest struct {
	Shape Shape       `json:"shape"`
	Links []ShapeLink `json:"links"`
	// Seed seeds every draw (PCG).
	Seed [2]uint64 `json:"seed"`
	Node string    `json:"node"`
}

// StartShaper binds QueueNum in the namespace at nsPath ("" is the
// caller's own) and shapes what is queued there: install the rules
// (Rules.QueueTo) after it, remove them before Stop.
func StartShaper(nsPath string, req ShapeRequest) (*Shaper, error) {
	q, err := OpenQueue(nsPath, QueueNum)
	if err != nil {
		return nil, err
	}
	sh, err := newShaper(q, req.Shape, rand.New(rand.NewPCG(req.Seed[0], req.Seed[1])), req.Node)
	if err != nil {
		q.Close()
		return nil, err
	}
	for _, l := range req.Links {
		if !l.Dst.Is4() {
			q.Close()
			unix.Close(sh.wake)
			return nil, fmt.Errorf("shape %s: %v is not IPv4", l.Name, l.Dst)
		}
		sh.links[l.Dst.As4()] = &linkState{name: l.Name}
	}
	sh.run()
	return sh, nil
}

func newShaper(q *Queue, s Shape, rnd *rand.Rand, node string) (*Shaper, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &Shaper{q: q, shape: s, rnd: rnd, node: node, links: map[[4]byte]*linkState{},
		wake: fd, readDone: make(chan struct{}), relDone: make(chan struct{})}, nil
}

func (s *Shaper) run() {
	go s.readLoop()
	go s.releaseLoop()
}

func (s *Shaper) immediate() bool {
	sh := s.shape
	return sh.Delay == 0 && sh.Jitter == 0 && sh.Rate == 0 && sh.Reorder == 0
}

func (s *Shaper) readLoop() {
	defer close(s.readDone)
	for {
		pkts, err := s.q.Read()
		if err != nil {
			// While draining, the read deadline ends the loop; otherwise
			// the queue broke, which the heal reports.
			s.mu.Lock()
			if !s.draining {
				s.readErr = err
			}
			s.mu.Unlock()
			s.flush()
			return
		}
		// Take whatever else is queued before giving the plain accepts
		// of this burst in one batch verdict.
		for n := 0; len(pkts) > 0; n++ {
			for _, p := range pkts {
				s.decide(p)
			}
			if n >= 64 {
				break
			}
			if pkts, err = s.q.TryRead(); err != nil {
				break
			}
		}
		s.flush()
	}
}

// flush accepts the packets decide left for a batch verdict.
func (s *Shaper) flush() {
	if s.batch != 0 {
		_ = s.q.AcceptUpTo(s.batch)
		s.batch = 0
	}
}

// decide draws what happens to one packet; every draw is made whatever
// the outcome, so that one packet's fate does not shift the next one's.
func (s *Shaper) decide(p Packet) {
	var dst [4]byte
	if len(p.Payload) >= 20 {
		copy(dst[:], p.Payload[16:20])
	}
	sh := s.shape
	lossDraw, dupDraw, reoDraw, corDraw := s.rnd.Float64(), s.rnd.Float64(), s.rnd.Float64(), s.rnd.Float64()
	delay := sh.Sample(s.rnd)
	corPos, corBit := s.rnd.Uint64(), s.rnd.IntN(8)

	s.mu.Lock()
	l := s.links[dst]
	if s.draining || l == nil {
		s.mu.Unlock()
		_ = s.q.Verdict(p.ID, VerdictAccept, nil)
		return
	}
	l.seen++
	if lossDraw < sh.Loss {
		l.dropped++
		s.mu.Unlock()
		_ = s.q.Verdict(p.ID, VerdictDrop, nil)
		return
	}
	r := &release{id: p.ID, link: l}
	if corDraw < sh.Corrupt && len(p.Payload) > 20 {
		ihl := int(p.Payload[0]&0x0f) * 4
		if ihl >= 20 && ihl < len(p.Payload) {
			r.payload = append([]byte(nil), p.Payload...)
			r.payload[ihl+int(corPos%uint64(len(p.Payload)-ihl))] ^= 1 << corBit
			l.corrupted++
		}
	}
	if dupDraw < sh.Duplicate {
		r.dup = append([]byte(nil), p.Payload...)
		if r.payload != nil {
			r.dup = append([]byte(nil), r.payload...)
		}
		l.duplicated++
	}
	if s.immediate() {
		s.mu.Unlock()
		if r.payload == nil && r.dup == nil {
			// Ids grow: a batch verdict up to this one accepts it and
			// every earlier one still queued (none: each got its own).
			s.batch = r.id
			return
		}
		s.flush()
		s.give(r)
		return
	}
	now := p.At
	r.at = now.Add(delay)
	if sh.Rate > 0 {
		tx := maxTime(now, l.nextFree)
		l.nextFree = tx.Add(time.Duration(float64(len(p.Payload)) / float64(sh.Rate) * float64(time.Second)))
		r.at = l.nextFree.Add(delay)
	}
	// A packet chosen to be reordered waits for the next one of its link:
	// p' = p/(1-p) makes the share of reordered packets p, since the
	// packet after a held one is never held itself.
	reorder := sh.Reorder > 0 && reoDraw < sh.Reorder/(1-sh.Reorder)
	switch {
	case l.held != nil:
		h := l.held
		l.held = nil
		s.push(r)
		h.at = maxTime(r.at, h.at)
		h.heldUntil = time.Time{}
		l.reordered++
		s.push(h)
	case reorder:
		r.heldUntil = r.at.Add(heldTimeout)
		l.held = r
		s.push(&release{at: r.heldUntil, link: l, heldUntil: r.heldUntil, wakeOnly: true})
	default:
		s.push(r)
	}
	wake := s.newHead
	s.newHead = false
	s.mu.Unlock()
	if wake {
		s.poke()
	}
}

// push queues r for release; the caller holds mu. It notes when r is now
// the first due, so that the release loop is woken for it.
func (s *Shaper) push(r *release) {
	s.seq++
	r.seq = s.seq
	heap.Push(&s.pending, r)
	if s.pending[0] == r {
		s.newHead = true
	}
}

func (s *Shaper) poke() {
	var one [8]byte
	one[0] = 1 // eventfd counters are host-endian; any non-zero wakes
	_, _ = unix.Write(s.wake, one[:])
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// give issues the verdict of r (and sends its copy).
func (s *Shaper) give(r *release) {
	_ = s.q.Verdict(r.id, VerdictAccept, r.payload)
	if r.dup != nil {
		_ = s.q.Send(r.dup)
	}
}

func (s *Shaper) releaseLoop() {
	defer close(s.relDone)
	fds := []unix.PollFd{{Fd: int32(s.wake), Events: unix.POLLIN}}
	var buf [8]byte
	for {
		s.mu.Lock()
		now := time.Now()
		var due []*release
		for s.pending.Len() > 0 && (s.draining || !s.pending[0].at.After(now)) {
			r := heap.Pop(&s.pending).(*release)
			if r.wakeOnly {
				if h := r.link.held; h != nil && h.heldUntil.Equal(r.heldUntil) {
					// The held packet's successor never came: out it goes,
					// in order.
					r.link.held = nil
					due = append(due, h)
				}
				continue
			}
			due = append(due, r)
		}
		if s.draining {
			for _, l := range s.links {
				if l.held != nil {
					due = append(due, l.held)
					l.held = nil
				}
			}
		}
		draining := s.draining
		next := time.Hour
		if s.pending.Len() > 0 {
			next = time.Until(s.pending[0].at)
		}
		s.newHead = false
		s.mu.Unlock()
		for _, r := range due {
			s.give(r)
		}
		if draining {
			return
		}
		if next > 0 {
			ts := unix.NsecToTimespec(int64(next))
			_, _ = unix.Ppoll(fds, &ts, nil)
			_, _ = unix.Read(s.wake, buf[:])
		}
	}
}

// Stop passes whatever is still queued (the rules are removed first, so
// nothing new comes), closes the queue and says what the shaper did.
func (s *Shaper) Stop() string {
	s.stopOnce.Do(func() {
		// Packets queued before the rules went are still on their way to
		// the reader: read for a moment more, passing them.
		s.mu.Lock()
		s.draining = true
		s.mu.Unlock()
		s.poke()
		<-s.relDone
		_ = s.q.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		<-s.readDone
		// Verdicts of the last reads are given; now nothing is held.
		s.q.Close()
		unix.Close(s.wake)
		s.stopped = s.summary()
	})
	return s.stopped
}

func (s *Shaper) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, l := range s.links {
		parts = append(parts, fmt.Sprintf("%s: %d packets, %d dropped, %d duplicated, %d reordered, %d corrupted",
			l.name, l.seen, l.dropped, l.duplicated, l.reordered, l.corrupted))
	}
	sort.Strings(parts)
	if s.readErr != nil {
		parts = append(parts, fmt.Sprintf("%s: queue read failed: %v", s.node, s.readErr))
	}
	return strings.Join(parts, "; ")
}
