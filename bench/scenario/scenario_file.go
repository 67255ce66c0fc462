package scenario

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/internal/suggest"
)

// LoadFile reads a scenario file, YAML or JSON, over sc: what the file gives
// replaces sc's values, what it leaves out keeps them. Its keys are those of
// scenario.json, so a past run's scenario.json can be run again (its run
// fields are ignored). A file with a chaos timeline and no nemesis list gets
// the timeline's faults as its list. seeded says whether the file fixed the
// seed. Every error is a *ConfigError of one line that names the key and
// its line: `cluster.nodes (line 1): want an odd integer 1-7, got "three"`.
//
//	seed: 42
//	cluster: {target: etcd, nodes: 5}
//	load: {duration: 60s, rate: 300}
//	chaos:
//	  quiet: 5s
//	  timeline:
//	    - {at: 10s, for: 10s, fault: partition-halves}
//	    - {at: 30s, for: 5s, fault: kill-leader}
func LoadFile(path string, sc *Scenario) (seeded bool, err error) {
	f, err := ReadFile(path, sc)
	if err != nil {
		return false, err
	}
	return f.Seeded, nil
}

// SourceFile is what reading a scenario file learnt besides the values:
// whether it fixed the seed, and the line of every key it gives, so that a
// value refused later (by Validate) can be traced to its line.
type SourceFile struct {
	Path   string
	Seeded bool
	// Lines maps a key path (cluster.nodes, chaos.timeline[1].at) to its
	// line in the file.
	Lines map[string]int
}

// Where is "cluster.nodes (line 3 of s.yaml)" for a key the file gives, or "".
func (f *SourceFile) Where(key string) string {
	if f == nil || f.Lines[key] == 0 {
		return ""
	}
	return fmt.Sprintf("%s (line %d of %s)", key, f.Lines[key], filepath.Base(f.Path))
}

// ReadFile is LoadFile, returning what it learnt of the file.
func ReadFile(path string, sc *Scenario) (*SourceFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, configErr("--scenario: %v", err)
	}
	f := &SourceFile{Path: path, Lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, configErr("--scenario %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return nil, configErr("--scenario %s: the file is empty (or only comments): nothing to run; leave --scenario out to run the defaults", path)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, configErr("--scenario %s (line %d): want a mapping of scenario keys (cluster, load, chaos, check, seed), got %s", path, root.Line, describe(root))
	}
	// The file is converted to JSON guided by the types it fills, so that
	// each key is checked where it stands (and a YAML 300 can fill a string).
	conv := converter{file: f}
	v, err := conv.value(root, reflect.TypeOf(RunInfo{}), "")
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, configErr("--scenario %s: %v", path, err)
	}
	info := RunInfo{Scenario: *sc}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		return nil, &ConfigError{Err: conv.jsonError(err)}
	}
	*sc = info.Scenario
	given := func(k string) bool { _, ok := f.Lines[k]; return ok }
	f.Seeded = given("seed")
	sc.Cluster.fromFile(filepath.Dir(path), given("cluster.target"))
	if given("chaos.timeline") && !given("chaos.nemesis") {
		sc.Chaos.Nemesis = sc.Chaos.timelineKinds()
	}
	return f, nil
}

// wants says what a key takes where its type alone says too little.
var wants = map[string]string{
	"seed":                   "a non-negative integer",
	"cluster.nodes":          fmt.Sprintf("an odd integer 1-%d", MaxNodes),
	"chaos.loss_percent":     "an integer 1-100",
	"chaos.nemesis":          "a list of fault names, e.g. [partition, kill]",
	"check.thresholds":       "a list like ['p99 < 200ms outside faults']",
	"cluster.options":        "a mapping like {bug: stale-reads}",
	"load.rate":              "a rate like 200, ramp:50..500 or closed:8",
	"check.memory_mb":        "a positive integer (MiB)",
	"load.max_in_flight":     "an integer 1-100000",
	"load.value_size":        "an integer of bytes, 0 to 1 MiB",
	"cluster.health_timeout": "a duration like 60s",
}

var (
	durationType    = reflect.TypeOf(Duration(0))
	unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textType        = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

type converter struct{ file *SourceFile }

func (c *converter) fail(n *yaml.Node, path string, t reflect.Type) error {
	w, ok := wants[path]
	if !ok {
		w = wantOf(t)
	}
	return fmt.Errorf("%s (line %d): want %s, got %s", path, n.Line, w, describe(n))
}

// value converts node, which fills a value of type t at path, into what
// encoding/json turns into that value.
func (c *converter) value(n *yaml.Node, t reflect.Type, path string) (any, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		if n.Kind == yaml.ScalarNode {
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil && n.Tag != "!!str" {
				return f, nil
			}
			if _, err := time.ParseDuration(n.Value); err == nil {
				return n.Value, nil
			}
		}
		return nil, c.fail(n, path, t)
	case reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType):
		// A type that reads itself (time.Time, spec values): its own
		// decoder judges it, and jsonError names the key.
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, c.fail(n, path, t)
		}
		return jsonable(v), nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil, c.fail(n, path, t)
		}
		fields := jsonFields(t)
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				sort.Strings(names)
				hint := suggest.DidYouMean(k.Value, names)
				if hint == "" {
					hint = " (known: " + strings.Join(names, ", ") + ")"
				}
				return nil, fmt.Errorf("%s (line %d): unknown key%s", key, k.Line, hint)
			}
			c.file.Lines[key] = k.Line
			cv, err := c.value(v, ft, key)
			if err != nil {
				return nil, err
			}
			out[k.Value] = cv
		}
		return out, nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil, c.fail(n, path, t)
		}
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			c.file.Lines[key] = k.Line
			cv, err := c.value(v, t.Elem(), key)
			if err != nil {
				return nil, err
			}
			out[k.Value] = cv
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil, c.fail(n, path, t)
		}
		out := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i+1)
			c.file.Lines[key] = e.Line
			cv, err := c.value(e, t.Elem(), key)
			if err != nil {
				return nil, err
			}
			out = append(out, cv)
		}
		return out, nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return nil, c.fail(n, path, t)
		}
		return n.Value, nil
	case reflect.Bool:
		if b, err := strconv.ParseBool(n.Value); err == nil && n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
			return b, nil
		}
		return nil, c.fail(n, path, t)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil && n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
			return i, nil
		}
		return nil, c.fail(n, path, t)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u, err := strconv.ParseUint(n.Value, 0, 64); err == nil && n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
			return u, nil
		}
		return nil, c.fail(n, path, t)
	case reflect.Float32, reflect.Float64:
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
			return f, nil
		}
		return nil, c.fail(n, path, t)
	case reflect.Interface:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, c.fail(n, path, t)
		}
		return jsonable(v), nil
	}
	return nil, c.fail(n, path, t)
}

// jsonError names the key of an error encoding/json found (a type that
// reads itself refused its value).
func (c *converter) jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if line := c.file.Lines[te.Field]; line > 0 {
			return fmt.Errorf("%s (line %d): want %s, got a %s", te.Field, line, wantOf(te.Type), te.Value)
		}
	}
	return fmt.Errorf("--scenario %s: %v", c.file.Path, strings.TrimPrefix(err.Error(), "json: "))
}

// jsonFields maps the JSON names of t's fields (embedded structs' too) to
// their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func wantOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return `a duration like 30s`
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// describe says what a node holds, for "got ...".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "nothing"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonable turns what yaml decodes into any (maps keyed by any) into what
// encoding/json can write.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	}
	return v
}
