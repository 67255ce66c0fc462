package history

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Writer streams events to a JSON Lines file from a background goroutine, so
// that recording never waits on the disk and a crashed run still leaves what
// it recorded: what was appended reaches the file at least every FlushEvery,
// and the file is fsynced on Close.
//
// Recording sits on the load's hot path, so Append encodes the event on the
// caller's goroutine into a pooled scratch buffer and only copies the line
// into the shared buffer under the lock; the background goroutine swaps that
// buffer for a spare and writes it with one system call. In the steady state
// nothing is allocated per event: the two buffers are reused.
type Writer struct {
	start time.Time
	f     *os.File
	cfg   writerConfig

	mu     sync.Mutex
	room   *sync.Cond // signalled when the buffer was taken
	buf    []byte
	closed bool
	count  int64
	err    error

	kick    chan struct{} // the buffer is worth writing now
	closing chan struct{}
	done    chan struct{}
	scratch sync.Pool
}

// WriterOption configures a Writer.
type WriterOption func(*writerConfig)

type writerConfig struct {
	flushEvery time.Duration
	// batch is the buffer size at which a write is started early.
	batch int
	// limit is the buffer size at which Append waits for the disk.
	limit int
}

// FlushEvery sets how often buffered events reach the file (default 200ms).
func FlushEvery(d time.Duration) WriterOption { return func(c *writerConfig) { c.flushEvery = d } }

// QueueLen sets roughly how many events may wait for the disk before Append
// blocks (default 1<<18, about 50 MB of lines).
func QueueLen(n int) WriterOption {
	return func(c *writerConfig) { c.limit = max(n, 1) * 200 }
}

// Create creates (or truncates) path and starts the background writer.
func Create(path string, opts ...WriterOption) (*Writer, error) {
	cfg := writerConfig{flushEvery: 200 * time.Millisecond, batch: 256 << 10, limit: 200 << 18}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.flushEvery <= 0 {
		cfg.flushEvery = 200 * time.Millisecond
	}
	cfg.batch = min(cfg.batch, cfg.limit)
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	w := &Writer{
		start: time.Now(), f: f, cfg: cfg,
		buf:  make([]byte, 0, 2*cfg.batch),
		kick: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{}),
	}
	w.room = sync.NewCond(&w.mu)
	w.scratch.New = func() any { b := make([]byte, 0, 512); return &b }
	go w.loop()
	return w, nil
}

// Start is the origin of event times: the moment the writer was created.
func (w *Writer) Start() time.Time { return w.start }

// Now is the current event time: nanoseconds since Start, monotonic.
func (w *Writer) Now() int64 { return int64(time.Since(w.start)) }

// Append records e. It is safe for concurrent use and does not wait for the
// disk unless the disk has fallen far behind; after Close it drops the event.
func (w *Writer) Append(e Event) {
	sp := w.scratch.Get().(*[]byte)
	line := append(AppendJSON((*sp)[:0], &e), '\n')
	w.mu.Lock()
	for len(w.buf) >= w.cfg.limit && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		w.putScratch(sp, line)
		return
	}
	w.buf = append(w.buf, line...)
	w.count++
	full := len(w.buf) >= w.cfg.batch
	w.mu.Unlock()
	w.putScratch(sp, line)
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *Writer) putScratch(sp *[]byte, line []byte) {
	if cap(line) > 64<<10 {
		return // an outsized event: do not keep its buffer around
	}
	*sp = line
	w.scratch.Put(sp)
}

// Count is the number of events appended so far.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.flushEvery)
	defer tick.Stop()
	spare := make([]byte, 0, 2*w.cfg.batch)
	for {
		closing := false
		select {
		case <-w.kick:
		case <-tick.C:
		case <-w.closing:
			closing = true
		}
		w.mu.Lock()
		out := w.buf
		w.buf = spare[:0]
		w.room.Broadcast()
		w.mu.Unlock()
		if len(out) > 0 {
			if _, err := w.f.Write(out); err != nil {
				w.setErr(err)
			}
		}
		spare = out
		if closing {
			return
		}
	}
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = fmt.Errorf("write history: %w", err)
	}
	w.mu.Unlock()
}

// Close writes what was appended, fsyncs and closes the file. It is
// idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	close(w.closing)
	<-w.done
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	return errors.Join(err, w.f.Sync(), w.f.Close())
}
