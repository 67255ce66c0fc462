package elle

import (
	"fmt"
	"slices"
	"strings"
)

// Model is a consistency model a history is checked against.
type Model string

const (
	StrictSerializable Model = "strict-serializable"
	Serializable       Model = "serializable"
	SnapshotIsolation  Model = "snapshot-isolation"
	RepeatableRead     Model = "repeatable-read"
	ReadCommitted      Model = "read-committed"
	ReadUncommitted    Model = "read-uncommitted"
)

// Models lists the models, strongest first.
var Models = []Model{StrictSerializable, Serializable, SnapshotIsolation, RepeatableRead, ReadCommitted, ReadUncommitted}

// ParseModel accepts a model's name (and Elle's aliases for it).
func ParseModel(s string) (Model, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "strict-serializable", "strong-serializable", "pl-ss":
		return StrictSerializable, nil
	case "serializable", "conflict-serializable", "pl-3":
		return Serializable, nil
	case "snapshot-isolation", "si", "pl-si":
		return SnapshotIsolation, nil
	case "repeatable-read", "pl-2.99":
		return RepeatableRead, nil
	case "read-committed", "pl-2":
		return ReadCommitted, nil
	case "read-uncommitted", "pl-1":
		return ReadUncommitted, nil
	}
	names := make([]string, len(Models))
	for i, m := range Models {
		names[i] = string(m)
	}
	return "", fmt.Errorf("consistency model %q: want one of %s", s, strings.Join(names, ", "))
}

// implies says which models a model directly implies: a history that
// satisfies the left satisfies the right. After Elle's
// elle.consistency-model/models (sources: Adya, "Weak Consistency"; Bailis
// et al., "Highly Available Transactions"; Cerone et al.), restricted to
// these six: serializable implies both repeatable read and snapshot
// isolation, which are incomparable, and both imply read committed.
var implies = map[Model][]Model{
	StrictSerializable: {Serializable},
	Serializable:       {RepeatableRead, SnapshotIsolation},
	RepeatableRead:     {ReadCommitted},
	SnapshotIsolation:  {ReadCommitted},
	ReadCommitted:      {ReadUncommitted},
}

// Anomaly names.
const (
	G0                = "G0"
	G1a               = "G1a"
	G1b               = "G1b"
	G1c               = "G1c"
	GSingle           = "G-single"
	GNonadjacent      = "G-nonadjacent"
	G2Item            = "G2-item"
	Internal          = "internal"
	DuplicateElements = "duplicate-elements"
	IncompatibleOrder = "incompatible-order"
	GarbageRead       = "garbage-read"
	LostUpdate        = "lost-update"
	CyclicVersions    = "cyclic-versions"
	FutureRead        = "future-read"
	realtimeSuffix    = "-realtime"
)

// weakestRuledOut maps an anomaly to the weakest of the six models that
// forbid it; every model implying one of those is ruled out too. This is
// Elle's table (elle.consistency-model: direct-proscribed-anomalies and
// implied-anomalies) seen through the six models:
//
//   - G0, duplicate elements and cyclic versions: PL-1, read uncommitted
//     (Adya). A garbage read (a value nobody wrote) is no Adya history at
//     all: even PL-1 reads versions some transaction installed.
//   - G1a, G1b, G1c: PL-2, read committed (Adya). Incompatible orders imply
//     G1a (Elle: two committed reads that cannot come from one timeline); a
//     future read (a transaction reads what it writes only later) is a
//     trivial G1c cycle (Elle).
//   - G-single: consistent view (Adya PL-2+), implied by snapshot isolation;
//     our dependencies are all on items, so a G-single is also a
//     G-single-item, which implies G-nonadjacent-item and G2-item, so it
//     rules out repeatable read too. G-nonadjacent likewise (generalized SI
//     forbids any cycle whose rw edges are all nonadjacent: Elle, after
//     Cerone and Gotsman).
//   - G2-item: PL-2.99, repeatable read (Adya); serializable by implication.
//   - Lost update: cursor stability (Adya, Bailis), implied by both
//     repeatable read and snapshot isolation (via consistent view).
//   - Internal inconsistency: Elle has it forbidden by read atomic, hence
//     by snapshot isolation and serializable, not by repeatable read (which
//     implies only monotonic atomic view).
//   - Any cycle that needs a real-time edge (G0-realtime ... G2-item-realtime):
//     strict serializable only (Adya PL-SS: G1c-realtime, G2-realtime).
var weakestRuledOut = map[string][]Model{
	G0:                {ReadUncommitted},
	DuplicateElements: {ReadUncommitted},
	CyclicVersions:    {ReadUncommitted},
	GarbageRead:       {ReadUncommitted},
	G1a:               {ReadCommitted},
	G1b:               {ReadCommitted},
	G1c:               {ReadCommitted},
	IncompatibleOrder: {ReadCommitted},
	FutureRead:        {ReadCommitted},
	GSingle:           {SnapshotIsolation, RepeatableRead},
	GNonadjacent:      {SnapshotIsolation, RepeatableRead},
	LostUpdate:        {SnapshotIsolation, RepeatableRead},
	G2Item:            {RepeatableRead},
	Internal:          {SnapshotIsolation},
}

// RulesOut returns the weakest models an anomaly rules out (a real-time
// cycle rules out strict serializability alone).
func RulesOut(anomaly string) []Model {
	if strings.HasSuffix(anomaly, realtimeSuffix) {
		return []Model{StrictSerializable}
	}
	return weakestRuledOut[anomaly]
}

// satisfies reports whether model m implies model w (reflexively).
func satisfies(m, w Model) bool {
	if m == w {
		return true
	}
	for _, x := range implies[m] {
		if satisfies(x, w) {
			return true
		}
	}
	return false
}

// Forbids reports whether model m forbids the anomaly: m implies one of
// the weakest models the anomaly rules out.
func Forbids(m Model, anomaly string) bool {
	return slices.ContainsFunc(RulesOut(anomaly), func(w Model) bool { return satisfies(m, w) })
}

// needsRealtime: only strict serializability orders transactions in real
// time (Elle adds its realtime graph only when a model forbids a
// -realtime anomaly; no process graph for these six).
func needsRealtime(m Model) bool { return m == StrictSerializable }
