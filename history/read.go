package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/faultline/faultline/internal/safefile"
)

// ReadFile reads a history.jsonl. A run that crashed may have left a torn last
// line; that line is skipped and reported through truncated, not as an error.
func ReadFile(path string) (events []Event, truncated bool, err error) {
	f, err := safefile.Open(path) // a regular file, not a device or a FIFO
	if err != nil {
		return nil, false, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	return Read(f)
}

// MaxLineBytes bounds one line of a history: a longer one is an error that
// names it, not a read that eats the memory (a run directory may come from
// anywhere).
const MaxLineBytes = 16 << 20

// Read decodes JSON Lines events from r (see ReadFile).
func Read(r io.Reader) (events []Event, truncated bool, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	for lineNo := 1; ; lineNo++ {
		line, rerr := readLine(br)
		if errors.Is(rerr, errLineTooLong) {
			return events, false, fmt.Errorf("history line %d is longer than %d MiB: not a history Faultline wrote", lineNo, MaxLineBytes>>20)
		}
		if len(line) > 0 {
			var e Event
			if err := json.Unmarshal(line, &e); err != nil {
				// Only the very last line may be torn by a crash.
				if rerr == io.EOF || isLast(br) {
					return events, true, nil
				}
				return events, false, fmt.Errorf("history line %d: %w", lineNo, err)
			}
			events = append(events, e)
		}
		if errors.Is(rerr, io.EOF) {
			return events, false, nil
		}
		if rerr != nil {
			return events, false, fmt.Errorf("read history: %w", rerr)
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine is ReadBytes('\n') refusing lines longer than MaxLineBytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b)+len(chunk) > MaxLineBytes {
			return nil, errLineTooLong
		}
		b = append(b, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return b, err
	}
}

func isLast(br *bufio.Reader) bool {
	_, err := br.Peek(1)
	return err != nil
}

// Op is an operation assembled from its invoke and completion events.
type Op struct {
	ID      uint64
	Process Process
	F       string
	Key     string
	// Value is the written value, or for a read the value observed.
	Value string
	// Data is a workload's non-string value: the completion's when it
	// carries one (a transaction's reads filled in, a dequeued message),
	// else the invoke's (as Jepsen, whose completion value replaces the
	// invoke's).
	Data json.RawMessage
	// Version is what the system reported with the completion (or the
	// invoke, when the completion says nothing).
	Version json.RawMessage
	From    string
	Node    string
	// Type is the completion: OK, Fail or Info. An invoke with no completion
	// (the run ended or crashed first) is Info.
	Type   Type
	Call   int64
	Return int64 // -1 when the operation never completed
	Error  string
	// Final marks reads made after healing and a quiet period.
	Final bool
	// Intended is when the schedule meant the request to leave (0: no
	// schedule); Call is when it did.
	Intended int64
}

// Operations pairs invokes with their completions by ID, in invoke order.
// Nemesis events are left out (see Faults).
func Operations(events []Event) []Op {
	idx := make(map[uint64]int, len(events)/2)
	ops := make([]Op, 0, len(events)/2)
	for i := range events {
		e := &events[i]
		if e.IsNemesis() {
			continue
		}
		if e.Type == Invoke {
			idx[e.ID] = len(ops)
			ops = append(ops, Op{ID: e.ID, Process: e.Process, F: e.F, Key: e.Key, Value: e.Value, Data: e.Data,
				Version: e.Version, From: e.From, Node: e.Node, Type: Info, Call: e.Time, Return: -1, Final: e.Final, Intended: e.Intended})
			continue
		}
		j, ok := idx[e.ID]
		if !ok {
			continue
		}
		op := &ops[j]
		op.Type, op.Return, op.Error = e.Type, e.Time, e.Error
		if e.F == FRead && e.Type == OK {
			op.Value = e.Value
		}
		if len(e.Data) > 0 {
			op.Data = e.Data
		}
		if len(e.Version) > 0 {
			op.Version = e.Version
		}
		delete(idx, e.ID)
	}
	return ops
}

// Window is a fault window: from the invoke of a nemesis start to the
// completion of the stop with the same ID.
type Window struct {
	Kind  string
	Start int64
	End   int64 // the end of the history if the fault was never healed
	Fault *Fault
}

// Faults returns the fault windows of a history, ordered by start. Starts
// that failed are left out.
func Faults(events []Event) []Window {
	var out []Window
	open := map[uint64]int{}
	var last int64
	for i := range events {
		e := &events[i]
		if e.Time > last {
			last = e.Time
		}
		if !e.IsNemesis() {
			continue
		}
		j, isOpen := open[e.ID]
		switch {
		case e.F == FStart && e.Type == Invoke:
			kind := ""
			if e.Fault != nil {
				kind = e.Fault.Kind
			}
			open[e.ID] = len(out)
			out = append(out, Window{Kind: kind, Start: e.Time, End: -1, Fault: e.Fault})
		case e.F == FStart && isOpen && e.Type == Fail:
			out[j].Kind = "" // never took effect
			delete(open, e.ID)
		case e.F == FStart && isOpen && e.Fault != nil:
			out[j].Fault = e.Fault
			out[j].Kind = e.Fault.Kind
		case e.F == FStop && isOpen && e.Type != Invoke:
			out[j].End = e.Time
			delete(open, e.ID)
		}
	}
	kept := out[:0]
	for _, w := range out {
		if w.Kind == "" {
			continue
		}
		if w.End < 0 {
			w.End = last
		}
		kept = append(kept, w)
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Start < kept[j].Start })
	return kept
}
