package history

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIntendedIsEncodedAndPaired(t *testing.T) {
	e := Event{Time: 120, Type: Invoke, Process: 2, F: FWrite, ID: 9, Key: "k", Value: "9", Intended: 100}
	want, _ := json.Marshal(wire(e))
	if got := AppendJSON(nil, &e); !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
	}
	ops := Operations([]Event{e, {Time: 150, Type: OK, Process: 2, F: FWrite, ID: 9, Key: "k", Value: "9"}})
	if len(ops) != 1 || ops[0].Intended != 100 || ops[0].Call != 120 || ops[0].Return != 150 {
		t.Fatalf("ops %+v", ops)
	}
}

// What was appended reaches the file without Close (the writer flushes at
// least every 200 ms; the test only waits generously for it).
func TestWriterFlushesWithoutClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Append(Event{Time: 1, Type: Invoke, Process: 0, F: FRead, ID: 1, Key: "k"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), "\n") == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event never reached the file before Close: %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Many appenders, a tiny queue (so that Append must wait for the disk), and
// an event larger than a chunk: every line arrives whole, each appender's in
// its order.
func TestWriterConcurrentBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	w, err := Create(path, QueueLen(1), FlushEvery(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	const g, n = 8, 5000
	var wg sync.WaitGroup
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				e := Event{Time: int64(j), Type: Invoke, Process: Process(i), F: FWrite, ID: uint64(i*n + j), Key: "k", Value: "v"}
				if j == n/2 && i == 0 {
					e.Value = strings.Repeat("x", 200<<10)
				}
				w.Append(e)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, torn, err := ReadFile(path)
	if err != nil || torn || len(evs) != g*n {
		t.Fatalf("read back %d events (want %d), torn=%v, err=%v", len(evs), g*n, torn, err)
	}
	last := map[Process]int64{}
	for _, e := range evs {
		if prev, ok := last[e.Process]; ok && e.Time != prev+1 {
			t.Fatalf("process %d: event %d after %d", e.Process, e.Time, prev)
		}
		last[e.Process] = e.Time
	}
	if w.Count() != g*n {
		t.Errorf("Count %d", w.Count())
	}
}
