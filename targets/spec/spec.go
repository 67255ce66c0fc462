// Package spec describes a system under test as data instead of Go code: where
// its node program comes from (a Go package, a Dockerfile, an image, or
// Debian packages), the command line of node i given its peers, how to tell
// it is healthy and who leads, and either the HTTP requests that perform
// reads, writes and compare-and-sets with the rules that turn their responses
// into ok / fail / info, or a built-in protocol client (redis, zookeeper,
// postgres, nats) with the mapping of the workload onto the system. A Spec is the `cluster.spec` section of a scenario
// file; New checks it completely and turns it into a targets.Target.
//
// Strings that say how to start a node or build a request are Go text/template
// templates (see NodeData and OpData for what they see, Funcs for the
// functions they may call). Every template is parsed and executed once with
// the cluster's real shape when the target is made, so a typo is an error
// before anything is launched.
package spec

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Spec is a target described by a scenario file.
type Spec struct {
	// Name names the target: run directories, images, labels, reports.
	Name string `json:"name"`
	// Source says where the node program comes from.
	Source Source `json:"source"`
	// Options are the target's options with their defaults. Templates read
	// them as .Options.<name>; a scenario sets them with cluster.options and
	// the command line with --target-opt name=value (--bug X is bug=X). An
	// option not declared here is refused.
	Options map[string]string `json:"options,omitempty"`
	// Choices, for an option that takes only some values, lists them: any
	// other value is refused before anything is launched, as a built-in
	// target refuses an unknown --bug, instead of a node that will not start.
	Choices map[string][]string `json:"choices,omitempty"`
	// Ports maps a port name to the number the node listens on in Docker
	// (the local runtime picks free ports instead). "client" is required: the
	// workload, health and leader requests go there.
	Ports map[string]int `json:"ports"`
	// Args is the command line after the program, one template per argument.
	// An argument that renders empty is left out.
	Args []string `json:"args,omitempty"`
	// Env is extra environment of a node, each value a template.
	Env map[string]string `json:"env,omitempty"`
	// Health says when a node is ready to serve. With a protocol client and
	// no path, the protocol's own check (PING, srvr, SELECT 1, /healthz).
	Health Health `json:"health"`
	// Leader, when set, says how to find the leader, so that faults aimed at
	// it (partition, kill-leader, ...) can be used.
	Leader *Leader `json:"leader,omitempty"`
	// Requests are the workload's operations, as HTTP requests. A spec
	// gives either requests or client.
	Requests Requests `json:"requests"`
	// Client, instead of requests, is a built-in protocol client.
	Client *Client `json:"client,omitempty"`
}

// Client names a built-in protocol client and maps the workload onto the
// system: the key each operation uses and the client's options.
type Client struct {
	// Protocol is redis, zookeeper, postgres or nats (see Protocols).
	Protocol string `json:"protocol"`
	// Key is a template (seeing .Key and .Options) naming what an operation
	// of key .Key touches: the Redis key, the znode path (zookeeper: one
	// level under the root, e.g. "/app-{{.Key}}") or the key-value key
	// (nats). Default: the protocol client's own naming. Postgres rows live
	// in the tables of options.schema instead.
	Key string `json:"key,omitempty"`
	// Options are the protocol client's options, each value a template
	// seeing .Options (the spec's options), so that --target-opt can switch
	// a read mode or a WAIT: see Protocols for each protocol's.
	Options map[string]string `json:"options,omitempty"`
}

// Source is exactly one of Go, Dockerfile, Image and Debian.
type Source struct {
	// Go is the import path of a main package, built into a static Linux
	// binary (CGO_ENABLED=0) that runs on either runtime.
	Go string `json:"go,omitempty"`
	// Version of a Go package: "local" builds it from a source tree on this
	// machine (Dir); anything else (v1.2.3, latest, a commit) fetches its
	// module at that version through the Go module proxy and builds it in a
	// throwaway module, cached per version. Default: latest. The scenario's
	// cluster.version (--version) overrides it.
	Version string `json:"version,omitempty"`
	// Dir is the source tree a "local" package is built in (relative to the
	// scenario file). Default: the working directory, i.e. Faultline's own
	// tree when faultline runs from it.
	Dir string `json:"dir,omitempty"`
	// Dockerfile is a directory holding a Dockerfile (relative to the
	// scenario file), built by the local Docker engine, docker runtime only.
	// Nothing is pulled by Faultline: images its FROM names must be there
	// already (or the engine must be able to pull them).
	Dockerfile string `json:"dockerfile,omitempty"`
	// Image is an image to run as it is, docker runtime only; Docker pulls it
	// if it is not there and a registry is reachable.
	Image string `json:"image,omitempty"`
	// Debian lists Debian packages installed (apt-get, no recommends) in an
	// image FROM the debootstrapped base (targets/image), built once per
	// content, docker runtime only; Command is its entry point (the program
	// and fixed arguments; args follow it).
	Debian  []string `json:"debian,omitempty"`
	Command Command  `json:"command,omitempty"`
}

// Command is a program with arguments: a list, or one string (the program
// alone).
type Command []string

// UnmarshalJSON accepts a string or a list of strings.
func (c *Command) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*c = Command{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("command: want a program or a list [program, args...]")
	}
	*c = l
	return nil
}

// LocalVersion is the version that builds a Go package from a local tree.
const LocalVersion = "local"

// DebianVersion is the version of a debian source: the packages are
// bookworm's; the image's tag is its content hash.
const DebianVersion = "debian"

// Health is the request that says a node is ready.
type Health struct {
	// Path is requested with GET on the client port (or Port), e.g. /health.
	Path string `json:"path,omitempty"`
	// Port names the port the health request goes to (default client).
	Port string `json:"port,omitempty"`
	// Status is the status (or statuses) meaning healthy. Default: 2xx.
	Status Codes `json:"status,omitempty"`
}

// Leader says how to find the leader. Path is requested with GET on every
// node's client port; then either Status names the leader (the one node
// answering it leads) or the JSON fields LeaderField and ID do: the node
// whose ID most nodes name as leader leads.
type Leader struct {
	Path string `json:"path"`
	// Status: the node answering one of these statuses is the leader.
	Status Codes `json:"status,omitempty"`
	// LeaderField is the JSON field (dotted path) naming the leader.
	LeaderField string `json:"leader,omitempty"`
	// ID is the JSON field (dotted path) naming the node that answers.
	ID string `json:"id,omitempty"`
}

// Requests are the operations of the workload. Read and write are required;
// without cas, the load's mix must not contain cas.
type Requests struct {
	Read  *Request `json:"read"`
	Write *Request `json:"write"`
	CAS   *Request `json:"cas,omitempty"`
}

// Request is one HTTP request and the rules that classify its response.
type Request struct {
	// Method defaults to GET for read and is required for write and cas.
	Method string `json:"method,omitempty"`
	// Path (with query) is a template, appended to the node's client
	// endpoint. Faultline appends op=<op id> to its query: the system must
	// ignore that parameter.
	Path string `json:"path"`
	// Body is a template; empty sends no body.
	Body string `json:"body,omitempty"`
	// Headers are templates.
	Headers map[string]string `json:"headers,omitempty"`
	// Responses are tried in order; the first that matches decides. A
	// response no rule matches is fail for a read and info for a write or
	// cas (its effect is unknown). A request that got no response is fail
	// when the connection was refused (nothing was sent) or the operation
	// is a read, else info.
	Responses []Rule `json:"responses"`
}

// Rule maps responses to an outcome. Every condition given must hold.
type Rule struct {
	// Status is a code (404), a class ("4xx"), a range ("500-599"), or a
	// list of them. Empty matches any status.
	Status Codes `json:"status,omitempty"`
	// BodyContains must appear in the body.
	BodyContains string `json:"body_contains,omitempty"`
	// JSON is a field of the body (dotted path: a.b.0.c) that must exist,
	// and equal Equals when given.
	JSON   string          `json:"json,omitempty"`
	Equals json.RawMessage `json:"equals,omitempty"`
	// Outcome is ok, fail or info; for a read, ok (with Value), absent (ok:
	// the key has no value) or fail.
	Outcome string `json:"outcome"`
	// Value says where an ok read finds the value.
	Value *Value `json:"value,omitempty"`
}

// Outcomes of a Rule.
const (
	OutcomeOK     = "ok"
	OutcomeFail   = "fail"
	OutcomeInfo   = "info"
	OutcomeAbsent = "absent"
)

// Value is where a read's value is: the whole body ("body"), or a JSON
// field, base64-decoded when Base64 is set. A JSON string gives its text,
// any other JSON value its encoding.
type Value struct {
	Body   bool   `json:"body,omitempty"`
	JSON   string `json:"json,omitempty"`
	Base64 bool   `json:"base64,omitempty"`
}

// UnmarshalJSON accepts "body" or {json: field, base64: bool}.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "body" {
			return fmt.Errorf(`value %q: want "body" or {json: <field>, base64: true|false}`, s)
		}
		*v = Value{Body: true}
		return nil
	}
	type plain Value
	var p plain
	if err := strictUnmarshal(b, &p); err != nil {
		return fmt.Errorf(`value: want "body" or {json: <field>, base64: true|false}: %v`, err)
	}
	*v = Value(p)
	return nil
}

// MarshalJSON writes "body" back as it was read.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.Body && v.JSON == "" && !v.Base64 {
		return []byte(`"body"`), nil
	}
	type plain Value
	return json.Marshal(plain(v))
}

// Codes is a set of HTTP status codes: 404, "4xx", "500-599", or a list.
type Codes []CodeRange

// CodeRange is the codes from Lo to Hi, both included.
type CodeRange struct{ Lo, Hi int }

// Match reports whether code is in the set; an empty set matches any code.
func (c Codes) Match(code int) bool {
	if len(c) == 0 {
		return true
	}
	for _, r := range c {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

func (c Codes) String() string {
	var parts []string
	for _, r := range c {
		switch {
		case r.Lo == r.Hi:
			parts = append(parts, strconv.Itoa(r.Lo))
		case r.Lo%100 == 0 && r.Hi == r.Lo+99:
			parts = append(parts, strconv.Itoa(r.Lo/100)+"xx")
		default:
			parts = append(parts, fmt.Sprintf("%d-%d", r.Lo, r.Hi))
		}
	}
	return strings.Join(parts, ",")
}

// UnmarshalJSON accepts a number, a string or a list of them.
func (c *Codes) UnmarshalJSON(b []byte) error {
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		list = []json.RawMessage{b}
	}
	var out Codes
	for _, item := range list {
		r, err := parseCode(item)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	*c = out
	return nil
}

// MarshalJSON writes the list as strings ("404", "4xx", "500-599").
func (c Codes) MarshalJSON() ([]byte, error) {
	parts := []string{}
	if s := c.String(); s != "" {
		parts = strings.Split(s, ",")
	}
	return json.Marshal(parts)
}

func parseCode(b json.RawMessage) (CodeRange, error) {
	var n int
	if json.Unmarshal(b, &n) == nil {
		return checkRange(CodeRange{n, n}, string(b))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return CodeRange{}, fmt.Errorf("status %s: want a code (404), a class (\"4xx\") or a range (\"500-599\")", b)
	}
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("status %q: want a code (404), a class (\"4xx\") or a range (\"500-599\")", s)
	if len(s) == 3 && strings.HasSuffix(strings.ToLower(s), "xx") {
		d, err := strconv.Atoi(s[:1])
		if err != nil {
			return CodeRange{}, bad
		}
		return checkRange(CodeRange{d * 100, d*100 + 99}, s)
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil {
			return CodeRange{}, bad
		}
		return checkRange(CodeRange{l, h}, s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return CodeRange{}, bad
	}
	return checkRange(CodeRange{n, n}, s)
}

func checkRange(r CodeRange, s string) (CodeRange, error) {
	if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
		return CodeRange{}, fmt.Errorf("status %s: HTTP status codes are 100 to 599", s)
	}
	return r, nil
}

// Resolve makes the paths of the spec (Source.Dir, Source.Dockerfile)
// absolute, taking relative ones from dir: the scenario file's directory.
func (s *Spec) Resolve(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		if a, err := filepath.Abs(filepath.Join(dir, p)); err == nil {
			return a
		}
		return filepath.Join(dir, p)
	}
	s.Source.Dir = abs(s.Source.Dir)
	s.Source.Dockerfile = abs(s.Source.Dockerfile)
}
