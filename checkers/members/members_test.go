package members

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

var nextID uint64

func read(node, key, value string, rev, mod int64) history.Op {
	nextID++
	return history.Op{ID: nextID, F: targets.FMemberRead, Node: node, Key: key, Value: value, Type: history.OK,
		Final: true, Return: 1, Version: []byte(fmt.Sprintf(`{"rev":%d,"mod":%d,"ser":true}`, rev, mod))}
}

func probe(node string, rev, hashRev int64, hash uint64) history.Op {
	nextID++
	return history.Op{ID: nextID, F: targets.FMemberProbe, Node: node, Type: history.OK, Final: true, Return: 1,
		Data: []byte(fmt.Sprintf(`{"revision":%d,"hash_revision":%d,"hash":%d}`, rev, hashRev, hash))}
}

func check(ops ...history.Op) checkers.Result {
	return (&Checker{}).Check(context.Background(), &checkers.Input{Ops: ops})
}

func TestAgree(t *testing.T) {
	r := check(
		read("n1", "k1", "a", 10, 4), read("n2", "k1", "a", 10, 4), read("n3", "k1", "a", 10, 4),
		read("n1", "k2", "", 10, 0), read("n2", "k2", "", 10, 0),
		// n3 lags: not compared key by key
		read("n3", "k2", "b", 9, 9),
		probe("n1", 10, 9, 77), probe("n2", 10, 9, 77), probe("n3", 9, 9, 77),
	)
	if r.Verdict != checkers.Valid {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
}

func TestSkippedWithoutMemberReads(t *testing.T) {
	r := check(history.Op{F: history.FRead, Key: "k", Type: history.OK})
	if r.Verdict != checkers.Skipped {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
}

// A member that skipped entries holds an older value at the same revision.
func TestMemberSkippedEntries(t *testing.T) {
	r := check(
		read("n1", "k1", "a", 10, 4), read("n2", "k1", "a", 10, 4),
		read("n1", "k2", "c", 10, 8), read("n2", "k2", "b", 10, 6),
	)
	if r.Verdict != checkers.Invalid || len(r.InvalidKeys) != 1 || r.InvalidKeys[0] != "k2" {
		t.Fatalf("%s: %s %v", r.Verdict, r.Summary, r.InvalidKeys)
	}
	d := r.Details.([]Difference)[0]
	if d.Members != [2]string{"n1", "n2"} || d.Revision != 10 {
		t.Fatalf("difference %+v", d)
	}
}

func TestHashDiffers(t *testing.T) {
	r := check(probe("n1", 10, 9, 77), probe("n2", 10, 9, 78), probe("n3", 10, 9, 77))
	if r.Verdict != checkers.Invalid {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
	if d := r.Details.([]Difference)[0]; d.Members != [2]string{"n1", "n2"} {
		t.Fatalf("difference %+v", d)
	}
}

func TestNothingComparable(t *testing.T) {
	if r := check(read("n1", "k1", "a", 10, 4)); r.Verdict != checkers.Skipped {
		t.Fatalf("one member: %s: %s", r.Verdict, r.Summary)
	}
	failed := read("n2", "k1", "", 0, 0)
	failed.Type = history.Fail
	if r := check(read("n1", "k1", "a", 10, 4), failed); r.Verdict != checkers.Unknown {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
}

// Property: members holding copies of one store agree; changing one key on
// one member at the same revision is always caught, naming that key.
func TestPropertyCopiesAgreeMutationCaught(t *testing.T) {
	for seed := range uint64(100) {
		rnd := rand.New(rand.NewPCG(seed, 2))
		var ops []history.Op
		n := 1 + rnd.IntN(20)
		for _, node := range []string{"n1", "n2", "n3"} {
			for k := range n {
				ops = append(ops, read(node, fmt.Sprintf("k%d", k), fmt.Sprint(k), 50, int64(k+1)))
			}
		}
		if r := check(ops...); r.Verdict != checkers.Valid {
			t.Fatalf("seed %d: %s: %s", seed, r.Verdict, r.Summary)
		}
		m := rnd.IntN(len(ops))
		ops[m].Value += "x"
		r := check(ops...)
		if r.Verdict != checkers.Invalid || r.InvalidKeys[0] != ops[m].Key {
			t.Fatalf("seed %d: mutation of %s on %s: %s %v", seed, ops[m].Key, ops[m].Node, r.Verdict, r.InvalidKeys)
		}
	}
}

// A whole-backend hash (etcd before 3.6) is compared only between members
// at the same revision and raft index.
func TestWholeBackendHash(t *testing.T) {
	whole := func(node string, rev int64, idx int, hash uint64) history.Op {
		nextID++
		return history.Op{ID: nextID, F: targets.FMemberProbe, Node: node, Type: history.OK, Final: true, Return: 1,
			Data: []byte(fmt.Sprintf(`{"revision":%d,"raft_index":%d,"hash_revision":%d,"hash":%d,"whole":true}`, rev, idx, rev, hash))}
	}
	if r := check(whole("n1", 10, 20, 1), whole("n2", 10, 21, 2)); r.Verdict == checkers.Invalid {
		t.Fatalf("different raft indexes compared: %s", r.Summary)
	}
	if r := check(whole("n1", 10, 20, 1), whole("n2", 10, 20, 2)); r.Verdict != checkers.Invalid {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
}

func applied(node string, rev int64, index uint64, stable bool) history.Op {
	nextID++
	return history.Op{ID: nextID, F: targets.FMemberProbe, Node: node, Type: history.OK, Final: true, Return: 1,
		Data: []byte(fmt.Sprintf(`{"revision":%d,"raft_index":%d,"applied":%t,"hash_revision":%d,"hash":%d,"whole":true}`,
			rev, index, stable, rev, rev))}
}

// etcd #13766: every member applied the same entries, but a member that
// skipped one after a crash is a revision behind. The whole-backend hashes
// are taken at different revisions, so only the index tells.
func TestSameIndexDifferentRevision(t *testing.T) {
	r := check(applied("n1", 48435, 48480, true), applied("n2", 48434, 48480, true), applied("n3", 48435, 48480, true))
	if r.Verdict != checkers.Invalid {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
	d := r.Details.([]Difference)
	if len(d) != 2 || d[0].Members != [2]string{"n1", "n2"} || d[0].Revision != 48434 || d[1].Members != [2]string{"n2", "n3"} {
		t.Fatalf("differences %+v", d)
	}
	// A member still applying (its status moved while probed), or one at
	// another index, proves nothing.
	for _, ops := range [][]history.Op{
		{applied("n1", 48435, 48480, true), applied("n2", 48434, 48480, false)},
		{applied("n1", 48435, 48480, true), applied("n2", 48434, 48479, true)},
	} {
		if r := check(ops...); r.Verdict != checkers.Valid {
			t.Fatalf("%s: %s", r.Verdict, r.Summary)
		}
	}
}
