package spec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// Member is a cluster member as templates see it.
type Member struct {
	// Index is 0-based: n1 is 0.
	Index int
	// Name is the node's name: n1, n2, ...
	Name string
	// Host is the name or address the other members reach it at.
	Host string
	// Bind is the address to listen on: 0.0.0.0 in Docker and in network
	// namespaces, 127.0.0.1 for local processes on loopback.
	Bind string
	// Ports maps each port name of the spec to the number it listens on.
	Ports map[string]int
	// DataDir is where the node keeps its state; it survives a restart.
	DataDir string
}

// NodeData is what the args and env templates see: the node itself (its
// Member fields at the top level: .Name, .Ports.client, ...), every member
// in order, itself included, and the target's options.
type NodeData struct {
	Member
	Peers   []Member
	Options map[string]string
}

// OpData is what request templates see.
type OpData struct {
	// Key is the key the operation reads or writes.
	Key string
	// Value is the value a write or cas writes (empty for a read).
	Value string
	// From is the value a cas expects; empty means the key must be absent.
	From string
	// Op is the operation's id (Faultline also puts it in the query).
	Op uint64
	// Options are the target's options.
	Options map[string]string
}

// Funcs are the functions templates may call, besides text/template's own
// (index, len, eq, printf, ...).
var Funcs = template.FuncMap{
	// pathescape escapes a string for a URL path segment.
	"pathescape": url.PathEscape,
	// queryescape escapes a string for a URL query value.
	"queryescape": url.QueryEscape,
	// json encodes a value as JSON: {"value": {{json .Value}}}.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// base64 is the standard encoding with padding.
	"base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	// hostport joins a host and a port, bracketing IPv6 addresses.
	"hostport": func(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) },
}

// tmpl is a parsed template; one without actions is kept as its text.
type tmpl struct {
	src    string
	t      *template.Template
	static bool
}

func compile(name, src string) (*tmpl, error) {
	t, err := template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %s", name, src, oneLine(trimTemplateErr(name, err.Error())))
	}
	static := t.Tree == nil || t.Tree.Root == nil || len(t.Tree.Root.Nodes) == 0
	if !static && len(t.Tree.Root.Nodes) == 1 {
		_, static = t.Tree.Root.Nodes[0].(*parse.TextNode)
	}
	return &tmpl{src: src, t: t, static: static}, nil
}

// render executes the template into b.
func (t *tmpl) render(b *strings.Builder, data any) error {
	if t.static {
		b.WriteString(t.src)
		return nil
	}
	if err := t.t.Execute(b, data); err != nil {
		return fmt.Errorf("%s %q: %s", t.t.Name(), t.src, oneLine(trimTemplateErr(t.t.Name(), err.Error())))
	}
	return nil
}

func (t *tmpl) string(data any) (string, error) {
	if t.static {
		return t.src, nil
	}
	var b strings.Builder
	err := t.render(&b, data)
	return b.String(), err
}

// trimTemplateErr drops the "template: name:1:2: executing "name"" prefix
// of text/template's errors, which repeats what the caller already says;
// the line stays when the template has several.
func trimTemplateErr(name, s string) string {
	rest, ok := strings.CutPrefix(s, "template: "+name+":")
	if !ok {
		return s
	}
	if i := strings.Index(rest, " at <"); i >= 0 {
		return rest[i+1:]
	}
	line, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return rest
	}
	if l, _, _ := strings.Cut(line, ":"); l != "1" {
		return "line " + l + ": " + msg
	}
	return msg
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
