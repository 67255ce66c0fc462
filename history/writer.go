package history

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Writer streams events to a JSON Lines file from a background goroutine, so
// that recording never waits on the disk and a crashed run still leaves what
// it recorded: the buffer is flushed at least every FlushEvery, and the file
// is fsynced on Close.
type Writer struct {
	start  time.Time
	f      *os.File
	events chan Event
	done   chan struct{}

	mu     sync.Mutex
	closed bool
	err    error
	count  int64
}

// WriterOption configures a Writer.
type WriterOption func(*writerConfig)

type writerConfig struct {
	flushEvery time.Duration
	queue      int
}

// FlushEvery sets how often buffered events reach the file (default 200ms).
func FlushEvery(d time.Duration) WriterOption { return func(c *writerConfig) { c.flushEvery = d } }

// QueueLen sets how many events may wait for the background writer.
func QueueLen(n int) WriterOption { return func(c *writerConfig) { c.queue = n } }

// Create creates (or truncates) path and starts the background writer.
func Create(path string, opts ...WriterOption) (*Writer, error) {
	cfg := writerConfig{flushEvery: 200 * time.Millisecond, queue: 8192}
	for _, o := range opts {
		o(&cfg)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	w := &Writer{start: time.Now(), f: f, events: make(chan Event, cfg.queue), done: make(chan struct{})}
	go w.loop(cfg.flushEvery)
	return w, nil
}

// Start is the origin of event times: the moment the writer was created.
func (w *Writer) Start() time.Time { return w.start }

// Now is the current event time: nanoseconds since Start, monotonic.
func (w *Writer) Now() int64 { return int64(time.Since(w.start)) }

// Append queues e for writing. It is safe for concurrent use; after Close it
// drops the event.
func (w *Writer) Append(e Event) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.count++
	// Sending under the lock keeps Close from closing the channel under us; the
	// queue is large enough that this rarely blocks.
	w.events <- e
	w.mu.Unlock()
}

// Count is the number of events appended so far.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

func (w *Writer) loop(flushEvery time.Duration) {
	defer close(w.done)
	bw := bufio.NewWriterSize(w.f, 256<<10)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var line []byte
	var werr error
	write := func(e *Event) {
		line = AppendJSON(line[:0], e)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil && werr == nil {
			werr = err
		}
	}
	for {
		select {
		case e, ok := <-w.events:
			if !ok {
				if err := bw.Flush(); err != nil && werr == nil {
					werr = err
				}
				w.setErr(werr)
				return
			}
			write(&e)
			// Drain what is already queued before looking at the ticker.
			for n := len(w.events); n > 0; n-- {
				e, ok := <-w.events
				if !ok {
					break
				}
				write(&e)
			}
		case <-tick.C:
			if err := bw.Flush(); err != nil && werr == nil {
				werr = err
			}
		}
	}
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

// Close writes what is queued, fsyncs and closes the file. It is idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	close(w.events)
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	return errors.Join(err, w.f.Sync(), w.f.Close())
}
