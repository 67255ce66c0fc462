package targets

import (
	"context"
	"sync"
)

// AskAll calls ask for every base concurrently and returns the answers and
// errors in the order of bases. Leader lookups use it: asked one after the
// other, a slow or cut-off node would hold up a fault by its whole timeout.
func AskAll[T any](ctx context.Context, bases []string, ask func(ctx context.Context, base string) (T, error)) ([]T, []error) {
	out := make([]T, len(bases))
	errs := make([]error, len(bases))
	var wg sync.WaitGroup
	for i, b := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = ask(ctx, b)
		}()
	}
	wg.Wait()
	return out, errs
}

// MostNamed returns the non-empty name given most often (the smallest on a
// tie), or "". Leader lookups use it: a cut-off node may still name an old
// leader, the others name the current one.
func MostNamed(names []string) string {
	votes := map[string]int{}
	for _, n := range names {
		if n != "" {
			votes[n]++
		}
	}
	best, most := "", 0
	for n, v := range votes {
		if v > most || v == most && n < best {
			best, most = n, v
		}
	}
	return best
}

// Elected returns the index of the node whose own id (ids[i]) is the leader
// the most nodes name (named[i]), or -1. An empty id or name is a node that
// did not answer or names no leader.
func Elected(ids, named []string) int {
	best := MostNamed(named)
	if best == "" {
		return -1
	}
	for i, id := range ids {
		if id == best {
			return i
		}
	}
	return -1
}
