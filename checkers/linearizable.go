package checkers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// Linearizable checks that the register operations of every key can be
// linearized, with porcupine, one key at a time, under a total time budget.
type Linearizable struct {
	// Budget bounds the whole check; keys still undecided make it unknown.
	Budget time.Duration
	// MaxVisualizations caps how many invalid keys get an HTML page.
	MaxVisualizations int
}

func (l *Linearizable) Name() string { return "linearizable" }

// PruneStats counts what pruning removed, by reason.
type PruneStats struct {
	Kept              int
	FailedReads       int // failed or unknown reads carry no information
	FailedWrites      int // certainly did not happen
	UnseenUnknown     int // unknown writes whose unique value nobody saw
	SeenUnknownCapped int // unknown writes that must have ended by a read that saw them
}

// Prune turns operations into per-key porcupine histories, dropping what is
// sound to drop (see DESIGN.md, "bounded cost"). Written values are unique, so
// a read names the write it saw.
func Prune(ops []history.Op) (map[string][]porcupine.Operation, PruneStats) {
	var st PruneStats
	byKey := map[string][]*history.Op{}
	for i := range ops {
		op := &ops[i]
		if op.Key == "" {
			continue
		}
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	out := make(map[string][]porcupine.Operation, len(byKey))
	for key, kops := range byKey {
		// The earliest return of an ok operation that observed each value.
		seen := map[string]int64{}
		observe := func(v string, ret int64) {
			if v == "" {
				return
			}
			if t, ok := seen[v]; !ok || ret < t {
				seen[v] = ret
			}
		}
		for _, op := range kops {
			if op.Type != history.OK {
				continue
			}
			switch op.F {
			case history.FRead:
				observe(op.Value, op.Return)
			case history.FCAS:
				observe(op.From, op.Return)
			}
		}
		procs := map[history.Process]int{}
		var hist []porcupine.Operation
		for _, op := range kops {
			in := RegisterInput{F: op.F, Value: op.Value, From: op.From}
			meta := OpMeta{ID: op.ID, Process: op.Process, Node: op.Node, Type: op.Type}
			ret := op.Return
			switch {
			case op.F == history.FRead:
				if op.Type != history.OK {
					st.FailedReads++
					continue
				}
			case op.Type == history.Fail:
				st.FailedWrites++
				continue
			case op.Type == history.Info:
				t, ok := seen[op.Value]
				if !ok {
					st.UnseenUnknown++
					continue
				}
				st.SeenUnknownCapped++
				// A read that returned before this write was even invoked
				// is an anomaly; a zero-length interval lets porcupine say so.
				ret = max(t, op.Call)
				meta.Pruned = true
			}
			c, ok := procs[op.Process]
			if !ok {
				c = len(procs)
				procs[op.Process] = c
			}
			var outv interface{} = RegisterOutput{}
			if op.F == history.FRead {
				outv = RegisterOutput{Value: op.Value}
			}
			hist = append(hist, porcupine.Operation{ClientId: c, Input: in, Call: op.Call, Output: outv, Return: ret, Metadata: meta})
			st.Kept++
		}
		if len(hist) > 0 {
			out[key] = hist
		}
	}
	return out, st
}

// Check runs porcupine on every key in parallel.
func (l *Linearizable) Check(ctx context.Context, in *Input) Result {
	start := time.Now()
	budget := l.Budget
	if budget <= 0 {
		budget = 2 * time.Minute
	}
	deadline := start.Add(budget)
	keyed, st := Prune(in.Ops)
	keys := make([]string, 0, len(keyed))
	for k := range keyed {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	verdicts := make(map[string]porcupine.CheckResult, len(keys))
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				res := porcupine.Unknown
				if left := time.Until(deadline); left > 0 && ctx.Err() == nil {
					res = porcupine.CheckOperationsTimeout(RegisterModel, keyed[k], left)
				}
				mu.Lock()
				verdicts[k] = res
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()

	r := Result{Checker: l.Name(), Stats: map[string]int{
		"keys": len(keys), "ops_checked": st.Kept, "failed_reads_dropped": st.FailedReads,
		"failed_writes_dropped": st.FailedWrites, "unseen_unknown_writes_dropped": st.UnseenUnknown,
		"seen_unknown_writes_capped": st.SeenUnknownCapped,
	}}
	for _, k := range keys {
		switch verdicts[k] {
		case porcupine.Illegal:
			r.InvalidKeys = append(r.InvalidKeys, k)
		case porcupine.Unknown:
			r.UnknownKeys = append(r.UnknownKeys, k)
		}
	}
	switch {
	case len(r.InvalidKeys) > 0:
		r.Verdict = Invalid
		r.Summary = fmt.Sprintf("%d of %d keys cannot be linearized: %s", len(r.InvalidKeys), len(keys), list(r.InvalidKeys, 10))
		r.Explanation, r.Artifacts = l.explain(in, keyed, r.InvalidKeys)
	case len(r.UnknownKeys) > 0:
		r.Verdict = Unknown
		r.Summary = fmt.Sprintf("%d of %d keys undecided within %v: %s", len(r.UnknownKeys), len(keys), budget, list(r.UnknownKeys, 10))
	case len(keys) == 0:
		r.Verdict = Unknown
		r.Summary = "no completed operation to check"
	default:
		r.Verdict = Valid
		r.Summary = fmt.Sprintf("all %d keys linearizable (%d operations checked)", len(keys), st.Kept)
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}

func list(ks []string, n int) string {
	if len(ks) <= n {
		return strings.Join(ks, ", ")
	}
	return strings.Join(ks[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(ks)-n)
}

// explain writes porcupine's visualization of the first invalid keys, with
// the fault windows annotated.
func (l *Linearizable) explain(in *Input, keyed map[string][]porcupine.Operation, invalid []string) (string, []string) {
	maxViz := l.MaxVisualizations
	if maxViz <= 0 {
		maxViz = 5
	}
	var lines, files []string
	for i, k := range invalid {
		ops := keyed[k]
		lines = append(lines, fmt.Sprintf("key %s: %d operations, no linearization exists", k, len(ops)))
		if i >= maxViz || in.Dir == "" {
			continue
		}
		_, info := porcupine.CheckOperationsVerbose(RegisterModel, ops, 30*time.Second)
		var anns []porcupine.Annotation
		for _, w := range in.Faults {
			detail := ""
			if w.Fault != nil {
				detail = w.Fault.Detail
			}
			anns = append(anns, porcupine.Annotation{Tag: "nemesis", Start: w.Start, End: w.End,
				Description: w.Kind, Details: detail, BackgroundColor: "#f4c7c3"})
		}
		info.AddAnnotations(anns)
		name := "linearizability-" + safeName(k) + ".html"
		if err := porcupine.VisualizePath(RegisterModel, info, filepath.Join(in.Dir, name)); err != nil {
			lines = append(lines, "  (visualization failed: "+err.Error()+")")
			continue
		}
		if st, err := os.Stat(filepath.Join(in.Dir, name)); err == nil {
			lines[len(lines)-1] += fmt.Sprintf("; see %s (%d KB)", name, st.Size()/1024)
		}
		files = append(files, name)
	}
	return strings.Join(lines, "\n"), files
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
