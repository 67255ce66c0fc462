package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
)

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	portRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	envRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	tokenRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$") // RFC 9110 token: methods, header names
	optionRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	debRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`) // Debian policy 5.6.1
)

// Config is what a scenario says about the target besides its spec.
type Config struct {
	// Options set the spec's declared options (--target-opt).
	Options map[string]string
	// Nodes is the cluster size: templates are tried on a cluster this big.
	Nodes int
	// Version overrides Source.Version (--version); empty keeps it.
	Version string
}

// New checks s completely (every template is parsed and executed on a
// cluster of cfg.Nodes) and returns the target it describes. Each error is
// one line that names the field at fault.
func New(s Spec, cfg Config) (*Target, error) {
	t := &Target{spec: s, reqs: map[string]*request{}}
	for _, step := range []func(Config) error{t.checkName, t.checkSource, t.checkOptions, t.checkPorts,
		t.checkNode, t.checkClient, t.checkHealth, t.checkLeader, t.checkRequests} {
		if err := step(cfg); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Target) checkName(Config) error {
	if !nameRE.MatchString(t.spec.Name) {
		return fmt.Errorf("name %q: want lower-case letters, digits, '.', '_' or '-' (it names images and run directories)", t.spec.Name)
	}
	return nil
}

func (t *Target) checkSource(cfg Config) error {
	src := t.spec.Source
	n := 0
	for _, set := range []bool{src.Go != "", src.Dockerfile != "", src.Image != "", len(src.Debian) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("source: give exactly one of go (a main package), dockerfile (a directory), image or debian (packages) (got %d)", n)
	}
	if len(src.Command) > 0 && len(src.Debian) == 0 {
		return fmt.Errorf("source.command is for debian sources (a go program, a Dockerfile or an image has its own entry point)")
	}
	if src.Go == "" {
		if src.Version != "" || src.Dir != "" {
			return fmt.Errorf("source: version and dir are for go packages only")
		}
	}
	switch {
	case src.Go != "":
		if strings.ContainsAny(src.Go, " \t@") {
			return fmt.Errorf("source.go %q: want an import path (the version goes in source.version)", src.Go)
		}
		t.version = src.Version
		if t.version == "" {
			t.version = "latest"
		}
		if cfg.Version != "" {
			t.version = cfg.Version
		}
		if strings.ContainsAny(t.version, " \t/@") {
			return fmt.Errorf("version %q: want local, latest, or a module version like v1.2.3", t.version)
		}
		local := t.version == LocalVersion
		switch {
		case src.Version == LocalVersion && !local:
			return fmt.Errorf("version %q: source.version is local (a source tree on this machine), which has no other versions", t.version)
		case src.Version != LocalVersion && local:
			return fmt.Errorf("version local: source.version is not local; set source.version: local to build from a source tree")
		}
		if src.Dir != "" {
			if !local {
				return fmt.Errorf("source.dir is for version local (a source tree on this machine)")
			}
			if st, err := os.Stat(src.Dir); err != nil || !st.IsDir() {
				return fmt.Errorf("source.dir %s: not a directory", src.Dir)
			}
		}
	case src.Dockerfile != "":
		if st, err := os.Stat(filepath.Join(src.Dockerfile, "Dockerfile")); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("source.dockerfile %s: no Dockerfile in that directory", src.Dockerfile)
		}
		t.version = "dockerfile"
	case src.Image != "":
		if strings.ContainsAny(src.Image, " \t") {
			return fmt.Errorf("source.image %q: not an image reference", src.Image)
		}
		t.version = src.Image
	default:
		for i, p := range src.Debian {
			if !debRE.MatchString(p) {
				return fmt.Errorf("source.debian[%d] %q: not a Debian package name", i, p)
			}
		}
		if len(src.Command) == 0 || src.Command[0] == "" {
			return fmt.Errorf("source.command: missing (the program the packages installed, e.g. [redis-server] or /usr/bin/redis-server; args follow it)")
		}
		for i, a := range src.Command {
			if strings.Contains(a, "{{") {
				return fmt.Errorf("source.command[%d] %q: the command is fixed; templates go in args", i, a)
			}
		}
		t.version = DebianVersion
	}
	if src.Go == "" && cfg.Version != "" && cfg.Version != t.version {
		return fmt.Errorf("version %q: only a go source has versions (this spec runs %s)", cfg.Version, t.version)
	}
	return nil
}

func (t *Target) checkOptions(cfg Config) error {
	t.options = map[string]string{}
	for k, v := range t.spec.Options {
		if !optionRE.MatchString(k) {
			return fmt.Errorf("options: name %q: want letters, digits and '_' (templates read .Options.<name>)", k)
		}
		t.options[k] = v
	}
	for k, v := range cfg.Options {
		if _, ok := t.options[k]; !ok {
			known := "it declares none"
			if len(t.spec.Options) > 0 {
				known = "known: " + strings.Join(sortedKeys(t.spec.Options), ", ")
			}
			return fmt.Errorf("unknown target option %q (%s; declare it under options)", k, known)
		}
		t.options[k] = v
	}
	for _, k := range sortedKeys(t.spec.Choices) {
		if _, ok := t.spec.Options[k]; !ok {
			return fmt.Errorf("choices.%s: no such option (declare it under options)", k)
		}
		if v := t.options[k]; !slices.Contains(t.spec.Choices[k], v) {
			what := "target option"
			if _, set := cfg.Options[k]; !set {
				what = "options: default of"
			}
			return fmt.Errorf("%s %s=%q: want one of %s", what, k, v, quoteAll(t.spec.Choices[k]))
		}
	}
	return nil
}

// quoteAll lists values quoted, so that an empty one shows.
func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func (t *Target) checkPorts(Config) error {
	if _, ok := t.spec.Ports[targets.ClientPort]; !ok {
		return fmt.Errorf("ports: no %q port (the port the workload, health and leader requests use)", targets.ClientPort)
	}
	seen := map[int]string{}
	for _, name := range sortedKeys(t.spec.Ports) {
		n := t.spec.Ports[name]
		if !portRE.MatchString(name) {
			return fmt.Errorf("ports: name %q: want lower-case letters, digits and '_' (templates read .Ports.<name>)", name)
		}
		if n < 1 || n > 65535 {
			return fmt.Errorf("ports.%s: %d is not a TCP port", name, n)
		}
		if other, dup := seen[n]; dup {
			return fmt.Errorf("ports.%s: %d is also ports.%s", name, n, other)
		}
		seen[n] = name
		p := targets.Port{Name: name, Number: n}
		if name == targets.ClientPort {
			t.ports = append([]targets.Port{p}, t.ports...)
		} else {
			t.ports = append(t.ports, p)
		}
	}
	return nil
}

// checkNode compiles the args and env, then renders them for every node of
// the cluster as each runtime would lay it out.
func (t *Target) checkNode(cfg Config) error {
	for i, a := range t.spec.Args {
		tp, err := compile(fmt.Sprintf("args[%d]", i), a)
		if err != nil {
			return err
		}
		t.args = append(t.args, tp)
	}
	for _, k := range sortedKeys(t.spec.Env) {
		if !envRE.MatchString(k) {
			return fmt.Errorf("env: name %q: not an environment variable name", k)
		}
		tp, err := compile("env."+k, t.spec.Env[k])
		if err != nil {
			return err
		}
		t.env = append(t.env, envVar{name: k, value: tp})
	}
	nodes := max(cfg.Nodes, 1)
	for _, layout := range []func(i int) targets.Peer{
		func(i int) targets.Peer { // docker
			return targets.Peer{Name: fmt.Sprintf("n%d", i+1), Host: fmt.Sprintf("n%d", i+1), DataDir: "/data"}
		},
		func(i int) targets.Peer { // local processes on loopback
			return targets.Peer{Name: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Bind: "127.0.0.1", DataDir: fmt.Sprintf("/tmp/faultline/run/n%d/data", i+1)}
		},
	} {
		peers := make([]targets.Peer, nodes)
		for i := range peers {
			peers[i] = layout(i)
			peers[i].Ports = map[string]int{}
			for j, p := range t.ports {
				peers[i].Ports[p.Name] = 20000 + 10*i + j
			}
		}
		for i := range peers {
			if _, err := t.node(i, peers); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Target) checkHealth(Config) error {
	h := &t.spec.Health
	t.healthPort = targets.ClientPort
	if h.Port != "" {
		if _, ok := t.spec.Ports[h.Port]; !ok {
			return fmt.Errorf("health.port %q: no such port (known: %s)", h.Port, strings.Join(sortedKeys(t.spec.Ports), ", "))
		}
		if h.Path == "" {
			return fmt.Errorf("health.port is for an HTTP health request: give health.path too")
		}
		t.healthPort = h.Port
	}
	if t.proto != nil && h.Path == "" {
		if len(h.Status) > 0 {
			return fmt.Errorf("health.status is for an HTTP health request: give health.path too")
		}
		if p := t.proto.HealthPort; p != "" {
			if _, ok := t.spec.Ports[p]; !ok {
				return fmt.Errorf("ports: no %q port (the %s client's health check asks it; declare it and start the node with it)", p, t.spec.Client.Protocol)
			}
			t.healthPort = p
		}
		return nil
	}
	if !strings.HasPrefix(h.Path, "/") {
		return fmt.Errorf("health.path %q: want a path like /health", h.Path)
	}
	if _, err := url.Parse("http://127.0.0.1" + h.Path); err != nil {
		return fmt.Errorf("health.path %q: %v", h.Path, err)
	}
	return nil
}

func (t *Target) checkLeader(Config) error {
	l := t.spec.Leader
	if l == nil {
		return nil
	}
	if t.proto != nil {
		return fmt.Errorf("leader: the %s client finds the leader itself; leave leader out", t.spec.Client.Protocol)
	}
	if !strings.HasPrefix(l.Path, "/") {
		return fmt.Errorf("leader.path %q: want a path like /status", l.Path)
	}
	byStatus, byFields := len(l.Status) > 0, l.LeaderField != "" || l.ID != ""
	switch {
	case byStatus && byFields:
		return fmt.Errorf("leader: give either status (the leader answers it) or the fields leader and id, not both")
	case byFields && (l.LeaderField == "" || l.ID == ""):
		return fmt.Errorf("leader: give both fields: leader (names the leader) and id (names the node answering)")
	case !byStatus && !byFields:
		return fmt.Errorf("leader: give status (the leader answers it) or the fields leader and id")
	}
	for _, f := range []string{l.LeaderField, l.ID} {
		if err := checkField(f); err != nil {
			return fmt.Errorf("leader: %v", err)
		}
	}
	return nil
}

func (t *Target) checkRequests(Config) error {
	rs := t.spec.Requests
	if t.proto != nil {
		if rs.Read != nil || rs.Write != nil || rs.CAS != nil {
			return fmt.Errorf("requests: give requests (HTTP) or client (a protocol client), not both")
		}
		return nil
	}
	for _, r := range []struct {
		f   string
		req *Request
	}{{history.FRead, rs.Read}, {history.FWrite, rs.Write}, {history.FCAS, rs.CAS}} {
		if r.req == nil {
			if r.f == history.FCAS {
				continue
			}
			return fmt.Errorf("requests.%s: missing (read and write are required; cas is optional)", r.f)
		}
		cr, err := compileRequest(r.f, r.req, t.options)
		if err != nil {
			return err
		}
		t.reqs[r.f] = cr
	}
	return nil
}

func compileRequest(f string, r *Request, options map[string]string) (*request, error) {
	at := "requests." + f
	cr := &request{f: f, method: strings.ToUpper(r.Method)}
	if cr.method == "" {
		if f != history.FRead {
			return nil, fmt.Errorf("%s.method: missing (e.g. PUT or POST)", at)
		}
		cr.method = "GET"
	}
	if !tokenRE.MatchString(cr.method) {
		return nil, fmt.Errorf("%s.method %q: not an HTTP method", at, r.Method)
	}
	var err error
	if cr.path, err = compile(at+".path", r.Path); err != nil {
		return nil, err
	}
	if r.Body != "" {
		if cr.body, err = compile(at+".body", r.Body); err != nil {
			return nil, err
		}
	}
	for _, k := range sortedKeys(r.Headers) {
		if !tokenRE.MatchString(k) {
			return nil, fmt.Errorf("%s.headers: %q is not a header name", at, k)
		}
		tp, err := compile(at+".headers."+k, r.Headers[k])
		if err != nil {
			return nil, err
		}
		cr.headers = append(cr.headers, header{name: k, value: tp})
	}
	if len(r.Responses) == 0 {
		return nil, fmt.Errorf("%s.responses: missing (which statuses mean ok, and for a read where the value is)", at)
	}
	for i, rule := range r.Responses {
		cr2, err := compileRule(f, rule)
		if err != nil {
			return nil, fmt.Errorf("%s.responses[%d]: %v", at, i, err)
		}
		cr.rules = append(cr.rules, cr2)
	}
	// Render once with operations like the workload's, so that a template
	// that cannot run on them fails here rather than under load.
	for _, op := range []history.Event{
		{F: f, ID: 1, Key: "k0.0", Value: "1-abc", From: ""},
		{F: f, ID: 2, Key: "k1.3", Value: "2-xyz", From: "1-abc"},
	} {
		var vt vegeta.Target
		if err := cr.render(&op, "http://127.0.0.1:1", options, &vt); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(vt.URL, "http://127.0.0.1:1/") {
			return nil, fmt.Errorf("%s.path %q: want a path starting with / (it follows the node's endpoint)", at, r.Path)
		}
		if _, err := url.Parse(vt.URL); err != nil {
			return nil, fmt.Errorf("%s.path %q: renders %q, not a URL: %v", at, r.Path, vt.URL, err)
		}
		if strings.Contains(vt.URL, "#") {
			return nil, fmt.Errorf("%s.path %q: a URL fragment (#) would hide the op id Faultline appends to the query", at, r.Path)
		}
		if err := httpx.CheckURL(vt.URL, "http://127.0.0.1:1"); err != nil {
			return nil, fmt.Errorf("%s.path %q: %w", at, r.Path, err)
		}
	}
	return cr, nil
}

func compileRule(f string, r Rule) (rule, error) {
	out := rule{codes: r.Status, contains: r.BodyContains, field: r.JSON}
	read := f == history.FRead
	switch r.Outcome {
	case OutcomeOK:
		out.typ = history.OK
		if read && r.Value == nil {
			return out, fmt.Errorf(`outcome ok of a read needs value ("body" or {json: <field>}); use outcome absent for a key without a value`)
		}
	case OutcomeAbsent:
		if !read {
			return out, fmt.Errorf("outcome absent is for reads (a %s is ok, fail or info)", f)
		}
		out.typ, out.absent = history.OK, true
	case OutcomeFail:
		out.typ = history.Fail
	case OutcomeInfo:
		if read {
			return out, fmt.Errorf("outcome info: a read changes nothing, so its outcome is ok, absent or fail")
		}
		out.typ = history.Info
	case "":
		return out, fmt.Errorf("outcome: missing (ok, fail, info; absent for reads)")
	default:
		return out, fmt.Errorf("outcome %q: want ok, fail, info (absent for reads)", r.Outcome)
	}
	if r.Value != nil {
		if !read || r.Outcome != OutcomeOK {
			return out, fmt.Errorf("value is for reads whose outcome is ok")
		}
		v := *r.Value
		if v.Body == (v.JSON != "") {
			return out, fmt.Errorf(`value: give "body" or {json: <field>}`)
		}
		if v.JSON != "" {
			if err := checkField(v.JSON); err != nil {
				return out, fmt.Errorf("value: %v", err)
			}
		}
		out.value = &v
	}
	if r.JSON != "" {
		if err := checkField(r.JSON); err != nil {
			return out, err
		}
	}
	if len(r.Equals) > 0 {
		if r.JSON == "" {
			return out, fmt.Errorf("equals needs json (the field to compare)")
		}
		// Decoded as bodies are, so that numbers compare as written.
		if out.equals = decodeJSON(r.Equals); out.equals == nil {
			return out, fmt.Errorf("equals %s: want a JSON value other than null", r.Equals)
		}
		out.hasEquals = true
	}
	return out, nil
}

func checkField(f string) error {
	if f == "" {
		return nil
	}
	for _, part := range strings.Split(f, ".") {
		if part == "" {
			return fmt.Errorf("field %q: empty part in a dotted path (like a.b.0.c)", f)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// strictUnmarshal refuses unknown fields, as scenario files do.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// checkClient checks client: the protocol, its options rendered with the
// spec's options, and the key template on operations like the workload's.
func (t *Target) checkClient(Config) error {
	c := t.spec.Client
	if c == nil {
		return nil
	}
	p := Protocols[c.Protocol]
	if p == nil {
		if c.Protocol == "" {
			return fmt.Errorf("client.protocol: missing (known: %s)", protocolNames())
		}
		return fmt.Errorf("client.protocol: unknown %q (known: %s)", c.Protocol, protocolNames())
	}
	opts := map[string]string{}
	for _, k := range sortedKeys(c.Options) {
		if _, ok := p.Options[k]; !ok {
			return fmt.Errorf("client.options.%s: the %s client has no such option (known: %s)", k, c.Protocol, strings.Join(sortedKeys(p.Options), ", "))
		}
		tp, err := compile("client.options."+k, c.Options[k])
		if err != nil {
			return err
		}
		v, err := tp.string(OpData{Options: t.options})
		if err != nil {
			return err
		}
		opts[k] = v
	}
	var key func(string) string
	if c.Key != "" {
		if p.Key == "" {
			return fmt.Errorf("client.key: the %s client takes no key mapping (see client.options)", c.Protocol)
		}
		tp, err := compile("client.key", c.Key)
		if err != nil {
			return err
		}
		for _, k := range []string{"k0.0", "k1.3", "q0"} {
			s, err := tp.string(OpData{Key: k, Options: t.options})
			if err != nil {
				return err
			}
			if err := p.checkKey(s); err != nil {
				return fmt.Errorf("client.key %q: %v", c.Key, err)
			}
		}
		options := t.options
		key = func(k string) string {
			s, err := tp.string(OpData{Key: k, Options: options})
			if err != nil {
				return k // checked above on keys like the workload's; a template that fails on another keeps it
			}
			return s
		}
	}
	conn, err := p.make(opts, key)
	if err != nil {
		// The built-in targets' own checks say "--target-opt k=v"; here
		// the value comes from client.options.
		msg := err.Error()
		for _, pre := range []string{c.Protocol + ": --target-opt ", c.Protocol + ": ", "--target-opt "} {
			msg = strings.TrimPrefix(msg, pre)
		}
		return fmt.Errorf("client.options: %s", msg)
	}
	t.proto, t.conn = p, conn
	return nil
}
