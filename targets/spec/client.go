package spec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
)

// request is a compiled Request.
type request struct {
	f       string
	method  string
	path    *tmpl
	body    *tmpl // nil: no body
	headers []header
	rules   []rule
}

type header struct {
	name  string
	value *tmpl
}

// rule is a compiled Rule.
type rule struct {
	codes     Codes
	contains  string
	field     string
	equals    any
	hasEquals bool
	typ       history.Type
	absent    bool
	value     *Value
}

// build fills t with the request of op against base. The op id goes last in
// the query, where the load looks for it. The URL is checked on every
// request, not only on the samples of validation: a template may render
// another host for some operations only ("{{if gt .Op 2}}@192.0.2.1{{end}}/kv").
func (r *request) build(op *history.Event, base string, options map[string]string, t *vegeta.Target) error {
	if err := r.render(op, base, options, t); err != nil {
		return err
	}
	if err := httpx.CheckURL(t.URL, base); err != nil {
		return fmt.Errorf("requests.%s.path %q: %w", r.f, r.path.src, err)
	}
	return nil
}

// render is build without the check of the URL.
func (r *request) render(op *history.Event, base string, options map[string]string, t *vegeta.Target) error {
	d := OpData{Key: op.Key, Value: op.Value, From: op.From, Op: op.ID, Options: options}
	var b strings.Builder
	b.WriteString(strings.TrimRight(base, "/"))
	if err := r.path.render(&b, d); err != nil {
		return err
	}
	if strings.Contains(b.String(), "?") {
		b.WriteString("&op=")
	} else {
		b.WriteString("?op=")
	}
	b.WriteString(strconv.FormatUint(op.ID, 10))
	t.Method, t.URL, t.Body, t.Header = r.method, b.String(), nil, nil
	if r.body != nil {
		s, err := r.body.string(d)
		if err != nil {
			return err
		}
		t.Body = []byte(s)
	}
	if len(r.headers) > 0 {
		t.Header = make(http.Header, len(r.headers))
		for _, h := range r.headers {
			v, err := h.value.string(d)
			if err != nil {
				return err
			}
			t.Header.Set(h.name, v)
		}
	}
	return nil
}

// classify applies the rules to a response, and the fixed rules to a
// request that got none (see Request.Responses).
func (r *request) classify(res *vegeta.Result) targets.Outcome {
	read := r.f == history.FRead
	if res.Code == 0 {
		out := targets.Outcome{Type: history.Info, Error: res.Error}
		if read || strings.Contains(res.Error, "connection refused") {
			out.Type = history.Fail
		}
		return out
	}
	var doc any
	parsed := false
	for _, ru := range r.rules {
		if !ru.codes.Match(int(res.Code)) {
			continue
		}
		if ru.contains != "" && !bytes.Contains(res.Body, []byte(ru.contains)) {
			continue
		}
		if ru.field != "" {
			if !parsed {
				doc, parsed = decodeJSON(res.Body), true
			}
			if doc == nil {
				continue
			}
			v, ok := lookup(doc, ru.field)
			if !ok || ru.hasEquals && !reflect.DeepEqual(v, ru.equals) {
				continue
			}
		}
		return ru.outcome(res)
	}
	out := targets.Outcome{Type: history.Info, Error: fmt.Sprintf("status %d matches no rule: %s", res.Code, snippet(res.Body))}
	if read {
		out.Type = history.Fail
	}
	return out
}

func (ru *rule) outcome(res *vegeta.Result) targets.Outcome {
	switch {
	case ru.typ != history.OK:
		return targets.Outcome{Type: ru.typ, Error: strings.TrimSpace(fmt.Sprintf("status %d: %s", res.Code, snippet(res.Body)))}
	case ru.absent || ru.value == nil:
		return targets.Outcome{Type: history.OK}
	}
	v, err := ru.value.extract(res.Body)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: fmt.Sprintf("read value: %v: %s", err, snippet(res.Body))}
	}
	return targets.Outcome{Type: history.OK, Value: v}
}

func (v *Value) extract(body []byte) (string, error) {
	raw := string(body)
	if v.JSON != "" {
		doc := decodeJSON(body)
		if doc == nil {
			return "", fmt.Errorf("the body is not JSON")
		}
		f, ok := lookup(doc, v.JSON)
		if !ok {
			return "", fmt.Errorf("no field %s", v.JSON)
		}
		if s, ok := f.(string); ok {
			raw = s
		} else {
			b, _ := json.Marshal(f)
			raw = string(b)
		}
	}
	if v.Base64 {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw))
		if err != nil {
			return "", fmt.Errorf("base64: %v", err)
		}
		raw = string(b)
	}
	return raw, nil
}

// decodeJSON parses a body, numbers kept as written; nil if it is not JSON.
func decodeJSON(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || v == nil {
		return nil
	}
	return v
}

// lookup follows a dotted path (a.b.0.c) through objects and arrays.
func lookup(v any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// client is the workload client of a spec.
type client struct {
	reqs    map[string]*request
	options map[string]string
}

func (c *client) Request(op *history.Event, base string, t *vegeta.Target) error {
	r := c.reqs[op.F]
	if r == nil {
		return fmt.Errorf("the spec has no %s request", op.F)
	}
	return r.build(op, base, c.options, t)
}

func (c *client) Classify(op *history.Event, res *vegeta.Result) targets.Outcome {
	r := c.reqs[op.F]
	if r == nil {
		return targets.Outcome{Type: history.Fail, Error: "the spec has no " + op.F + " request"}
	}
	return r.classify(res)
}
