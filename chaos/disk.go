package chaos

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

// Which nodes a disk fault hits.
const (
	DiskOne      = "one"
	DiskLeader   = "leader"
	DiskMajority = "majority"
	DiskAll      = "all"
)

// LoseUnsynced kills nodes (which: one, leader, majority, all), throws away
// what they wrote without fsync (their data directories are on lazyfs), and
// restarts them when healed.
func LoseUnsynced(which string) (Fault, error) {
	switch which {
	case DiskOne, DiskLeader, DiskMajority, DiskAll:
		return &loseUnsynced{which: which}, nil
	}
	return nil, fmt.Errorf("--nemesis lose-unsynced:nodes=%s: want one, leader, majority or all", which)
}

type loseUnsynced struct{ which string }

func (f *loseUnsynced) Kind() string { return "lose-unsynced" }
func (f *loseUnsynced) Needs() Needs { return Needs{Nodes: 1, LazyFS: true} }

// chooseNodes picks the nodes of a fault that hits one, the leader, a
// random majority or all.
func chooseNodes(ctx context.Context, env *Env, rnd *rand.Rand, which string) ([]int, string) {
	n := len(env.Nodes)
	switch which {
	case DiskAll:
		return seq(n), "all"
	case DiskMajority:
		idx := rnd.Perm(n)[:n/2+1]
		sort.Ints(idx)
		return idx, "a random majority"
	case DiskLeader:
		i, why := pick(ctx, env, rnd, ChooseLeader)
		return []int{i}, why
	}
	i, why := pick(ctx, env, rnd, ChooseRandom)
	return []int{i}, why
}

func (f *loseUnsynced) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	idx, why := chooseNodes(ctx, env, rnd, f.which)
	disks := make([]runtime.LazyDisk, len(idx))
	for k, i := range idx {
		d, ok := env.Nodes[i].(runtime.LazyDisk)
		if !ok {
			return nil, fmt.Errorf("lose-unsynced: node %s has no lazyfs data directory (the local runtime has)", env.Nodes[i].Name())
		}
		disks[k] = d
	}
	start := time.Now()
	took, err := killNodes(ctx, env, idx)
	if err != nil {
		return nil, err
	}
	lost := make([]string, len(idx))
	err = each(seq(len(idx)), func(k int) error {
		l, err := disks[k].LoseUnsynced(ctx)
		lost[k] = disks[k].Name() + ": " + l
		return err
	})
	if err != nil {
		_, herr := startNodes(context.WithoutCancel(ctx), env, idx)
		return nil, errors.Join(err, herr)
	}
	apply := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: f.Kind(), Nodes: names(env, idx), ApplyNanos: int64(apply),
			Detail: fmt.Sprintf("kill -9 %v (%s) in %v, then lost what they had not fsynced (lazyfs: %s); restarted with what was synced when healed",
				names(env, idx), why, took.Round(time.Microsecond), strings.Join(lost, "; "))},
		Heal: func(ctx context.Context) (string, error) { return startNodes(ctx, env, idx) },
	}, nil
}

// Corruption modes of corrupt-file.
const (
	CorruptFlip     = "flip"
	CorruptTruncate = "truncate"
	CorruptRandom   = "random"
)

// CorruptFile stops a node (chosen), flips bits in or truncates one of its
// data files whose path (relative to the data directory) or name matches
// pattern, and restarts it when healed. Which file, where and how many bits
// come from the seed.
func CorruptFile(c Choice, pattern, mode string, bits int) (Fault, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("--nemesis corrupt-file:pattern=%s: %v", pattern, err)
	}
	switch mode {
	case CorruptFlip, CorruptTruncate, CorruptRandom:
	default:
		return nil, fmt.Errorf("--nemesis corrupt-file:mode=%s: want flip, truncate or random", mode)
	}
	if bits < 1 {
		return nil, fmt.Errorf("--nemesis corrupt-file:bits=%d: want at least 1", bits)
	}
	return &corruptFile{choose: c, pattern: pattern, mode: mode, bits: bits}, nil
}

type corruptFile struct {
	choose        Choice
	pattern, mode string
	bits          int
}

func (f *corruptFile) Kind() string { return "corrupt-file" }
func (f *corruptFile) Needs() Needs { return Needs{Nodes: 1, DataFiles: true} }

// dataFiles lists the non-empty regular files under dir matching pattern,
// sorted, so that the seed picks the same one in the same tree.
func dataFiles(dir, pattern string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		mr, _ := filepath.Match(pattern, rel)
		mb, _ := filepath.Match(pattern, d.Name())
		if fi, err := d.Info(); err == nil && fi.Size() > 0 && (mr || mb) {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func (f *corruptFile) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	i, why := pick(ctx, env, rnd, f.choose)
	dn, ok := env.Nodes[i].(runtime.DataDirNode)
	if !ok {
		return nil, fmt.Errorf("corrupt-file: the data files of node %s are out of reach (the local runtime has them)", env.Nodes[i].Name())
	}
	start := time.Now()
	if _, err := killNodes(ctx, env, []int{i}); err != nil {
		return nil, err
	}
	what, err := f.corrupt(dn.HostDataDir(), rnd)
	if err != nil {
		_, herr := startNodes(context.WithoutCancel(ctx), env, []int{i})
		return nil, errors.Join(fmt.Errorf("corrupt-file on %s: %w", dn.Name(), err), herr)
	}
	apply := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: f.Kind(), Nodes: []string{dn.Name()}, ApplyNanos: int64(apply),
			Detail: fmt.Sprintf("kill -9 %s (%s), then %s (pattern %q); restarted on it when healed", dn.Name(), why, what, f.pattern)},
		Heal: func(ctx context.Context) (string, error) { return startNodes(ctx, env, []int{i}) },
	}, nil
}

// corrupt damages one file and says what it did. Everything is synced: on
// lazyfs too, the damage is on the disk.
func (f *corruptFile) corrupt(dir string, rnd *rand.Rand) (string, error) {
	files, err := dataFiles(dir, f.pattern)
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no non-empty data file matches %q under %s", f.pattern, dir)
	}
	rel := files[rnd.IntN(len(files))]
	mode := f.mode
	if mode == CorruptRandom {
		mode = []string{CorruptFlip, CorruptTruncate}[rnd.IntN(2)]
	}
	file, err := os.OpenFile(filepath.Join(dir, rel), os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return "", err
	}
	size := st.Size()
	var what string
	if mode == CorruptTruncate {
		to := rnd.Int64N(size)
		if err := file.Truncate(to); err != nil {
			return "", err
		}
		what = fmt.Sprintf("truncated %s from %d to %d bytes", rel, size, to)
	} else {
		offs := make([]int64, f.bits)
		for k := range offs {
			off, bit := rnd.Int64N(size), rnd.IntN(8)
			b := make([]byte, 1)
			if _, err := file.ReadAt(b, off); err != nil {
				return "", err
			}
			b[0] ^= 1 << bit
			if _, err := file.WriteAt(b, off); err != nil {
				return "", err
			}
			offs[k] = off
		}
		sort.Slice(offs, func(a, b int) bool { return offs[a] < offs[b] })
		shown := offs
		if len(shown) > 8 {
			shown = shown[:8]
		}
		what = fmt.Sprintf("flipped %d bits of %s (%d bytes) at offsets %v", f.bits, rel, size, shown)
	}
	if err := file.Sync(); err != nil {
		return "", err
	}
	return what, nil
}
