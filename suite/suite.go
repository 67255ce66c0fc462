// Package suite is a list of scenarios run one after another, each with the
// verdict it is expected to end with: `faultline suite` and `make bench`.
// A suite file (YAML or JSON) has a name, defaults shared by every entry,
// and entries; each entry overrides the defaults (target, read mode,
// nemesis, any key of scenario.json) and says what verdict it expects.
// The whole suite is resolved and validated before anything is launched.
//
//	name: default
//	defaults:
//	  load: {duration: 12s, rate: 200}
//	  chaos: {interval: 3s}
//	entries:
//	  - {name: raftkv-partition, target: raftkv, nemesis: partition, expect: valid}
//	  - {name: naive-paxos-partition, target: naive-paxos, nemesis: partition, expect: invalid}
//	  - name: etcd-serializable-none
//	    target: etcd
//	    read_mode: serializable
//	    nemesis: none
//	    expect: either      # valid or invalid: said so in the index; never unknown
//	    note: a follower may or may not answer a read before it applied the write
//	    system: etcd serializable  # the index's matrix row (default: target and read mode)
//	    fault: none                # its column (default: the nemesis)
package suite

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
)

//go:embed default.yaml
var defaultFile []byte

// DefaultName is what --suite is when none is given: the embedded suite.
const DefaultName = "default"

// Suite is a resolved suite: every entry's scenario is complete and valid.
type Suite struct {
	Name string
	// Source is the file it came from ("embedded default.yaml" for the
	// default).
	Source  string
	Entries []Entry
}

// Entry is one run of a suite.
type Entry struct {
	Name string
	// Expect lists the verdicts that count as expected.
	Expect Expectation
	// Note says why the expectation is what it is (shown in the index).
	Note     string
	Scenario scenario.Scenario
	// SeedFixed says the suite file chose the seed; otherwise it was derived
	// from the suite's seed and the entry's name.
	SeedFixed bool
	// System and Fault place the entry in the index's matrix: its row (the
	// system, default: the target and its read mode) and its column (the
	// fault, default: the nemesis joined by "+").
	System, Fault string
}

// defaultSystem is the target, with its read mode when one is set.
func defaultSystem(sc scenario.Scenario) string {
	if sc.Load.ReadMode != "" {
		return sc.Cluster.Target + " " + sc.Load.ReadMode
	}
	return sc.Cluster.Target
}

// defaultFault is the nemesis joined by "+", "none" for none.
func defaultFault(sc scenario.Scenario) string {
	if len(sc.Chaos.Nemesis) == 0 {
		return "none"
	}
	return strings.Join(sc.Chaos.Nemesis, "+")
}

// Expectation is the verdicts an entry may end with and still pass.
type Expectation []checkers.Verdict

// Match reports whether v is expected.
func (e Expectation) Match(v checkers.Verdict) bool { return slices.Contains(e, v) }

// String is "valid", "invalid", or "valid or invalid".
func (e Expectation) String() string {
	s := make([]string, len(e))
	for i, v := range e {
		s[i] = string(v)
	}
	return strings.Join(s, " or ")
}

// parseExpectation reads expect: valid | invalid | either (valid or
// invalid), or a list of those verdicts. Unknown is never expected: it is
// never a pass.
func parseExpectation(raw json.RawMessage) (Expectation, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("no expect: say valid, invalid or either")
	}
	var words []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		words = []string{one}
	} else if err := json.Unmarshal(raw, &words); err != nil {
		return nil, fmt.Errorf("expect %s: want valid, invalid, either, or a list of them", raw)
	}
	var e Expectation
	add := func(v checkers.Verdict) {
		if !e.Match(v) {
			e = append(e, v)
		}
	}
	for _, w := range words {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "valid":
			add(checkers.Valid)
		case "invalid":
			add(checkers.Invalid)
		case "either":
			add(checkers.Valid)
			add(checkers.Invalid)
		default:
			return nil, fmt.Errorf("expect %q: want valid, invalid or either (unknown is never a pass, so it cannot be expected)", w)
		}
	}
	if len(e) == 0 {
		return nil, errors.New("expect: empty list")
	}
	slices.Sort(e) // "invalid or valid" reads oddly; keep valid first
	slices.Reverse(e)
	return e, nil
}

// override is what the defaults and every entry may say: a few shorthands
// for the keys a suite changes most, a scenario file, and any section of
// scenario.json, decoded over what is already there.
type override struct {
	Target   *string    `json:"target"`
	Version  *string    `json:"version"`
	Bug      *string    `json:"bug"`
	ReadMode *string    `json:"read_mode"`
	Nemesis  stringList `json:"nemesis"`
	Seed     *uint64    `json:"seed"`
	// Scenario is a scenario file (scenario.LoadFile), relative to the suite
	// file, read before the sections and shorthands.
	Scenario string          `json:"scenario"`
	Cluster  json.RawMessage `json:"cluster"`
	Load     json.RawMessage `json:"load"`
	Chaos    json.RawMessage `json:"chaos"`
	Check    json.RawMessage `json:"check"`
}

type entryFile struct {
	override
	Name   string          `json:"name"`
	Expect json.RawMessage `json:"expect"`
	Note   string          `json:"note"`
	// System and Fault: Entry's.
	System string `json:"system"`
	Fault  string `json:"fault"`
}

type suiteFile struct {
	Name     string            `json:"name"`
	Defaults json.RawMessage   `json:"defaults"`
	Entries  []json.RawMessage `json:"entries"`
}

// stringList reads "a", "a,b" or [a, b].
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = nil
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				*l = append(*l, p)
			}
		}
		if *l == nil {
			*l = stringList{}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("want a name or a list of names")
	}
	*l = append(stringList{}, list...)
	return nil
}

// apply writes o over sc. dir resolves a relative scenario file.
func (o *override) apply(sc *scenario.Scenario, dir string) (seeded bool, err error) {
	// Target options (a bug) belong to the target they were given for: an
	// override that changes the target starts without the inherited ones.
	target := ""
	if o.Target != nil {
		target = *o.Target
	} else if len(o.Cluster) > 0 {
		var c struct{ Target string }
		_ = json.Unmarshal(o.Cluster, &c)
		target = c.Target
	}
	if target != "" && target != sc.Cluster.Target {
		sc.Cluster.Options = nil
	}
	if o.Scenario != "" {
		p := o.Scenario
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if seeded, err = scenario.LoadFile(p, sc); err != nil {
			return false, err
		}
	}
	nemesisSet := o.Nemesis != nil
	for _, s := range []struct {
		name string
		raw  json.RawMessage
		into any
	}{{"cluster", o.Cluster, &sc.Cluster}, {"load", o.Load, &sc.Load}, {"chaos", o.Chaos, &sc.Chaos}, {"check", o.Check, &sc.Check}} {
		if len(s.raw) == 0 {
			continue
		}
		raw := s.raw
		if s.name == "load" {
			raw = rateAsString(raw)
		}
		if s.name == "chaos" {
			var keys map[string]json.RawMessage
			_ = json.Unmarshal(raw, &keys)
			_, has := keys["nemesis"]
			nemesisSet = nemesisSet || has
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(s.into); err != nil {
			return false, fmt.Errorf("%s: %v", s.name, err)
		}
	}
	if o.Target != nil {
		sc.Cluster.Target = *o.Target
	}
	if o.Version != nil {
		sc.Cluster.Version = *o.Version
	}
	if o.Bug != nil {
		opts := map[string]string{}
		for k, v := range sc.Cluster.Options {
			opts[k] = v
		}
		if *o.Bug == "" {
			delete(opts, "bug")
		} else {
			opts["bug"] = *o.Bug
		}
		sc.Cluster.Options = opts
	}
	if o.ReadMode != nil {
		sc.Load.ReadMode = *o.ReadMode
	}
	if o.Nemesis != nil {
		sc.Chaos.Nemesis = o.Nemesis
	}
	if len(sc.Chaos.Timeline) > 0 && !nemesisSet {
		// As in a scenario file: a timeline names its own faults.
		sc.Chaos.Nemesis = nil
		for _, s := range sc.Chaos.Timeline {
			if !slices.Contains(sc.Chaos.Nemesis, s.Fault) {
				sc.Chaos.Nemesis = append(sc.Chaos.Nemesis, s.Fault)
			}
		}
	}
	if o.Seed != nil {
		sc.Seed, seeded = *o.Seed, true
	}
	return seeded, nil
}

// rateAsString lets a suite write rate: 200 (YAML's number) for rate: "200".
func rateAsString(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	var n json.Number
	if r, ok := m["rate"]; ok && json.Unmarshal(r, &n) == nil {
		m["rate"], _ = json.Marshal(n.String())
		b, _ := json.Marshal(m)
		return b
	}
	return raw
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Default returns the embedded default suite, resolved with the given seed.
func Default(seed uint64) (*Suite, error) {
	return Parse(defaultFile, "embedded default.yaml", ".", seed)
}

// DefaultYAML is the embedded default suite's file.
func DefaultYAML() []byte { return append([]byte(nil), defaultFile...) }

// Load reads a suite file; seed is the suite's seed, from which an entry
// that fixes none gets its own.
func Load(file string, seed uint64) (*Suite, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("suite: %v", err)
	}
	return Parse(b, file, filepath.Dir(file), seed)
}

// Parse resolves a suite from its file's bytes (YAML or JSON) and validates
// every entry's scenario as `faultline run` would (bench.Prepare), without
// launching anything. dir resolves the scenario files entries name. Every
// error is one line naming the file and the entry.
func Parse(b []byte, source, dir string, seed uint64) (*Suite, error) {
	fail := func(format string, args ...any) (*Suite, error) {
		return nil, fmt.Errorf("suite %s: "+format, append([]any{source}, args...)...)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return fail("%v", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	js, err := json.Marshal(v)
	if err != nil {
		return fail("%v", err)
	}
	var f suiteFile
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fail("%v (known keys: name, defaults, entries)", err)
	}
	if f.Name == "" {
		return fail("no name")
	}
	if len(f.Entries) == 0 {
		return fail("no entries")
	}
	base := scenario.Default()
	var defaults override
	baseSeeded := false
	if len(f.Defaults) > 0 && string(f.Defaults) != "null" {
		dec := json.NewDecoder(bytes.NewReader(f.Defaults))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&defaults); err != nil {
			return fail("defaults: %v", err)
		}
		if baseSeeded, err = defaults.apply(&base, dir); err != nil {
			return fail("defaults: %v", err)
		}
	}
	s := &Suite{Name: f.Name, Source: source}
	seen := map[string]bool{}
	for i, raw := range f.Entries {
		var ef entryFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ef); err != nil {
			return fail("entry %d: %v", i+1, err)
		}
		what := fmt.Sprintf("entry %d (%s)", i+1, ef.Name)
		switch {
		case ef.Name == "":
			return fail("entry %d: no name", i+1)
		case !nameRE.MatchString(ef.Name):
			return fail("%s: a name is letters, digits, '.', '-' and '_'", what)
		case seen[ef.Name]:
			return fail("%s: the name is used twice", what)
		}
		seen[ef.Name] = true
		exp, err := parseExpectation(ef.Expect)
		if err != nil {
			return fail("%s: %v", what, err)
		}
		sc := cloneScenario(base)
		seeded, err := ef.apply(&sc, dir)
		if err != nil {
			return fail("%s: %v", what, err)
		}
		seeded = seeded || baseSeeded
		if !seeded {
			sc.Seed = entrySeed(seed, ef.Name)
		}
		sc.Name = ef.Name
		if _, err := bench.Prepare(sc); err != nil {
			return fail("%s: %v", what, err)
		}
		e := Entry{Name: ef.Name, Expect: exp, Note: strings.TrimSpace(ef.Note), Scenario: sc, SeedFixed: seeded,
			System: strings.TrimSpace(ef.System), Fault: strings.TrimSpace(ef.Fault)}
		if e.System == "" {
			e.System = defaultSystem(sc)
		}
		if e.Fault == "" {
			e.Fault = defaultFault(sc)
		}
		s.Entries = append(s.Entries, e)
	}
	return s, nil
}

// cloneScenario copies sc deeply enough that entries share no map or slice.
func cloneScenario(sc scenario.Scenario) scenario.Scenario {
	b, _ := json.Marshal(sc)
	var out scenario.Scenario
	_ = json.Unmarshal(b, &out)
	return out
}

// entrySeed derives an entry's seed from the suite's seed and its name, so
// that choosing entries with --only changes no seed.
func entrySeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, name)
	return h.Sum64()
}

// Filter keeps the entries whose name matches one of the comma-separated
// glob patterns (e.g. "etcd-*,raftkv-partition"). No match is an error.
func (s *Suite) Filter(patterns string) error {
	var pats []string
	for p := range strings.SplitSeq(patterns, ",") {
		if p = strings.TrimSpace(p); p != "" {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("--only %q: %v", p, err)
			}
			pats = append(pats, p)
		}
	}
	if len(pats) == 0 {
		return nil
	}
	var keep []Entry
	for _, e := range s.Entries {
		for _, p := range pats {
			if ok, _ := path.Match(p, e.Name); ok {
				keep = append(keep, e)
				break
			}
		}
	}
	if len(keep) == 0 {
		var names []string
		for _, e := range s.Entries {
			names = append(names, e.Name)
		}
		return fmt.Errorf("--only %q matches no entry of suite %s (entries: %s)", patterns, s.Name, strings.Join(names, ", "))
	}
	s.Entries = keep
	return nil
}

// Report is the expectation as report.CompareEntry.Expected wants it:
// verdicts joined by "|".
func (e Expectation) Report() string {
	s := make([]string, len(e))
	for i, v := range e {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}
