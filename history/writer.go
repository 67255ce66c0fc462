package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/faultline/faultline/internal/safefile"
)

// Writer streams events to a JSON Lines file from a background goroutine, so
// that recording never waits on the disk and a crashed run still leaves what
// it recorded: what was appended reaches the file at least every FlushEvery,
// and the file is fsynced on Close.
//
// Recording sits on the load's hot path. Append encodes the event on the
// caller's goroutine into a pooled scratch buffer and, under the lock, only
// copies the line into the current chunk of a pool of fixed-size chunks; the
// background goroutine writes full chunks (and, every FlushEvery, the partial
// one) and gives them back. In the steady state nothing is allocated per
// event, and memory is bounded: when every chunk waits for the disk, Append
// waits too.
type Writer struct {
	start time.Time
	f     *os.File
	cfg   writerConfig

	mu      sync.Mutex
	room    *sync.Cond // a chunk came back from the disk
	cur     []byte     // the chunk being filled; nil until needed
	full    [][]byte   // chunks waiting for the disk
	free    [][]byte   // written chunks, ready for reuse
	nchunks int        // chunks in existence (of chunkSize)
	closed  bool
	count   int64
	err     error

	kick    chan struct{} // enough full chunks to be worth a write
	closing chan struct{}
	done    chan struct{}
	scratch sync.Pool
}

// chunkSize is the unit of buffering and of writing.
const chunkSize = 64 << 10

// WriterOption configures a Writer.
type WriterOption func(*writerConfig)

type writerConfig struct {
	flushEvery time.Duration
	// maxChunks bounds the memory waiting for the disk.
	maxChunks int
}

// FlushEvery sets how often buffered events reach the file (default 200ms).
func FlushEvery(d time.Duration) WriterOption { return func(c *writerConfig) { c.flushEvery = d } }

// QueueLen sets roughly how many events may wait for the disk before Append
// blocks (default 1<<18: 1024 chunks of 64 KiB).
func QueueLen(n int) WriterOption {
	return func(c *writerConfig) { c.maxChunks = max(2, n*256/chunkSize) }
}

// Create creates (or truncates) path and starts the background writer.
func Create(path string, opts ...WriterOption) (*Writer, error) {
	cfg := writerConfig{flushEvery: 200 * time.Millisecond, maxChunks: 1024}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.flushEvery <= 0 {
		cfg.flushEvery = 200 * time.Millisecond
	}
	// Created afresh, never through a link planted at path.
	f, err := safefile.Create(filepath.Dir(path), filepath.Base(path), 0o644)
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	w := &Writer{
		start: time.Now(), f: f, cfg: cfg,
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
	w.makeRoom(len(line))
	if w.closed {
		w.mu.Unlock()
		w.putScratch(sp, line)
		return
	}
	w.cur = append(w.cur, line...)
	w.count++
	w.mu.Unlock()
	w.putScratch(sp, line)
}

// makeRoom makes the current chunk fit n more bytes: it queues a chunk that
// cannot for the disk and takes an empty one, waiting for the disk if every
// chunk is in use. Another appender may install a chunk while this one
// waits, hence the loop. Called with w.mu held.
func (w *Writer) makeRoom(n int) {
	for !w.closed && len(w.cur)+n > cap(w.cur) {
		if len(w.cur) > 0 {
			w.full = append(w.full, w.cur)
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
		w.cur = nil
		switch k := len(w.free); {
		case n > chunkSize:
			w.cur = make([]byte, 0, n) // an outsized event gets a chunk of its own
		case k > 0:
			w.cur = w.free[k-1]
			w.free = w.free[:k-1]
		case w.nchunks < w.cfg.maxChunks:
			w.nchunks++
			w.cur = make([]byte, 0, chunkSize)
		default:
			w.room.Wait()
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
	var out [][]byte
	for {
		flush, closing := false, false
		select {
		case <-w.kick:
		case <-tick.C:
			flush = true
		case <-w.closing:
			flush, closing = true, true
		}
		w.mu.Lock()
		out = append(out[:0], w.full...)
		clear(w.full)
		w.full = w.full[:0]
		if flush && len(w.cur) > 0 {
			out = append(out, w.cur)
			w.cur = nil
		}
		w.mu.Unlock()
		var err error
		for _, c := range out {
			if err == nil {
				_, err = w.f.Write(c)
			}
		}
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("write history: %w", err)
		}
		for _, c := range out {
			if cap(c) == chunkSize { // outsized chunks are not kept
				w.free = append(w.free, c[:0])
			}
		}
		w.room.Broadcast()
		w.mu.Unlock()
		clear(out)
		if closing {
			return
		}
	}
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
	if len(w.cur) > 0 {
		w.full = append(w.full, w.cur)
		w.cur = nil
	}
	w.room.Broadcast()
	w.mu.Unlock()
	close(w.closing)
	<-w.done
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	return errors.Join(err, w.f.Sync(), w.f.Close())
}
