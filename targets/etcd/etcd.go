// Package etcd is the etcd target: built from go.etcd.io/etcd/server/v3 at any
// version the module proxy serves, driven through etcd's JSON gateway.
package etcd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
)

// DefaultVersion is the etcd release built when none is named.
const DefaultVersion = "v3.7.3"

const (
	clientPort = 2379
	peerPort   = 2380
)

// Read modes.
const (
	Linearizable = "linearizable"
	Serializable = "serializable"
)

// Target is etcd.
type Target struct {
	// readMode is the target option read-mode (--target-opt
	// read-mode=serializable); --read-mode says the same.
	readMode string
	// flags are appended to every member's command line (--target-opt
	// flags="--snapshot-count=100 ...").
	flags []string
	// clusterState is --initial-cluster-state of the members started with
	// the cluster: new (default) or existing.
	clusterState string
	// failpoints builds etcd with gofail failpoints and serves them over
	// HTTP on each member (--target-opt failpoints=true).
	failpoints bool
}

// New returns the etcd target.
func New() *Target { return &Target{} }

// Options lists the target options NewWithOptions knows.
const Options = "read-mode, flags, initial-cluster-state, failpoints"

// NewWithOptions returns the etcd target configured by its target options:
// read-mode (linearizable or serializable), flags (extra etcd flags for
// every member, split on spaces), initial-cluster-state (new or existing)
// and failpoints (true: built with gofail, failpoints served on each member).
func NewWithOptions(opts map[string]string) (*Target, error) {
	t := &Target{}
	for k, v := range opts {
		switch k {
		case "read-mode":
			if v != Linearizable && v != Serializable {
				return nil, fmt.Errorf("etcd: --target-opt read-mode=%s: want linearizable or serializable", v)
			}
			t.readMode = v
		case "flags":
			t.flags = strings.Fields(v)
			for _, f := range t.flags {
				if !strings.HasPrefix(f, "-") {
					return nil, fmt.Errorf("etcd: --target-opt flags=%q: %q is not a flag; write each as --name=value", v, f)
				}
				name := strings.TrimLeft(strings.SplitN(f, "=", 2)[0], "-")
				if owned[name] {
					return nil, fmt.Errorf("etcd: --target-opt flags: --%s is set by Faultline (it places members, ports and data directories)", name)
				}
			}
		case "initial-cluster-state":
			if v != "new" && v != "existing" {
				return nil, fmt.Errorf("etcd: --target-opt initial-cluster-state=%s: want new or existing", v)
			}
			t.clusterState = v
		case "failpoints":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("etcd: --target-opt failpoints=%s: want true or false", v)
			}
			t.failpoints = b
		default:
			return nil, fmt.Errorf("etcd: unknown target option %q (known: %s)", k, Options)
		}
	}
	return t, nil
}

// owned are the flags Node sets itself: a user's would contradict where the
// runtime put the member.
var owned = map[string]bool{
	"name": true, "data-dir": true, "listen-client-urls": true, "advertise-client-urls": true,
	"listen-peer-urls": true, "initial-advertise-peer-urls": true, "initial-cluster": true,
}

func (*Target) Name() string           { return "etcd" }
func (*Target) DefaultVersion() string { return DefaultVersion }

// Module is the Go module etcd is built from: --version names one of its
// versions (the CLI asks the module proxy for them before building).
func (*Target) Module() string { return module }

// VersionHint explains a 3.4 version the module proxy refused.
func (*Target) VersionHint(version string) string {
	if m, _ := source(version); m == module34 {
		return "; etcd 3.4 is served only as pseudo-versions of its tags' commits, e.g. v0.5.0-alpha.5.0.20200910180754-dd1b699fc489 (3.4.13), where the proxy resolves the tag"
	}
	return ""
}

// ModuleOf is the module a given version is built from (3.4 is another
// module than 3.5 and later).
func (*Target) ModuleOf(version string) string {
	m, _ := source(version)
	return m
}

const module = "go.etcd.io/etcd/server/v3"

var _ interface{ Module() string } = (*Target)(nil)

// FailpointPort names the port of gofail's HTTP endpoint (failpoints=true).
const FailpointPort = "failpoint"

func (t *Target) Ports() []targets.Port {
	ps := []targets.Port{{Name: targets.ClientPort, Number: clientPort}, {Name: "peer", Number: peerPort}}
	if t.failpoints {
		ps = append(ps, targets.Port{Name: FailpointPort, Number: failpointPort})
	}
	return ps
}

const failpointPort = 22381

// failpointAddr is where a member serves its failpoints (GOFAIL_HTTP).
func failpointAddr(p targets.Peer) string {
	bind := p.Bind
	if bind == "" {
		bind = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d", bind, p.Ports[FailpointPort])
}

const mainSource = `package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`

// mainSource34 is etcd 3.4's main: one module, go.etcd.io/etcd, whose v3
// tags carry a go.mod without /v3, so the module proxy serves them only as
// pseudo-versions (v0.5.0-alpha.5.0.<time>-<commit>), which a tag name
// resolves to where the proxy allows it; etcdmain.Main takes no arguments.
const mainSource34 = `package main

import "go.etcd.io/etcd/etcdmain"

func main() { etcdmain.Main() }
`

// module34 is the module etcd 3.4 and earlier are built from.
const module34 = "go.etcd.io/etcd"

// source returns the module and main package of an etcd version: 3.5 and
// later are go.etcd.io/etcd/server/v3, each release line in its own
// throwaway module; 3.4 (a v3.4 tag, or a pseudo-version v0.5.0-...) is
// go.etcd.io/etcd.
func source(version string) (mod, main string) {
	if strings.HasPrefix(version, "v3.4.") || strings.HasPrefix(version, "v3.3.") || strings.HasPrefix(version, "v0.") {
		return module34, mainSource34
	}
	return module, mainSource
}

// Prepare builds a static etcd server for version (with gofail failpoints
// when the target option failpoints is set).
func (t *Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version == "" {
		version = DefaultVersion
	}
	mod, main := source(version)
	spec := gobuild.Spec{
		Name: "etcd", Module: mod, Version: version,
		Main: main, CacheDir: opts.CacheDir, Log: opts.Log,
	}
	if t.failpoints {
		spec.Failpoints = []string{mod}
	}
	path, resolved, err := gobuild.Build(ctx, spec)
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: resolved, Binary: path}, nil
}

// Node returns the command line of member i.
func (t *Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	var initial []string
	for _, p := range peers {
		initial = append(initial, fmt.Sprintf("%s=http://%s:%d", p.Name, p.Host, p.Ports["peer"]))
	}
	bind := self.Bind
	if bind == "" {
		bind = "0.0.0.0"
	}
	cp, pp := self.Ports[targets.ClientPort], self.Ports["peer"]
	state := t.clusterState
	if state == "" {
		state = "new"
	}
	args := []string{
		"--name", self.Name,
		"--data-dir", self.DataDir,
		"--listen-client-urls", fmt.Sprintf("http://%s:%d", bind, cp),
		"--advertise-client-urls", fmt.Sprintf("http://%s:%d", self.Host, cp),
		"--listen-peer-urls", fmt.Sprintf("http://%s:%d", bind, pp),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://%s:%d", self.Host, pp),
		"--initial-cluster", strings.Join(initial, ","),
		"--initial-cluster-state", state,
		"--initial-cluster-token", "faultline",
		"--logger", "zap", "--log-outputs", "stderr",
	}
	// The user's flags come last: etcd takes the last of a repeated flag,
	// so they override the defaults above (--initial-cluster-token, --logger).
	args = append(args, t.flags...)
	spec := targets.NodeSpec{Args: args}
	if t.failpoints {
		spec.Env = append(spec.Env, "GOFAIL_HTTP="+failpointAddr(self))
	}
	return spec
}

// Healthy asks /health, which etcd answers true once the member has a leader.
func (*Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var h struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h); err != nil {
		return fmt.Errorf("health: %s: %w", resp.Status, err)
	}
	if h.Health != "true" {
		return fmt.Errorf("health %q %s", h.Health, h.Reason)
	}
	return nil
}

// Leader asks each member for its status and returns the member that leads.
func (*Target) Leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	type status struct {
		Header struct {
			MemberID string `json:"member_id"`
		} `json:"header"`
		Leader string `json:"leader"`
	}
	answers, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (status, error) {
		var s status
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b+"/v3/maintenance/status", strings.NewReader("{}"))
		if err != nil {
			return s, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return s, err
		}
		defer resp.Body.Close()
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&s)
		return s, err
	})
	ids, named := make([]string, len(answers)), make([]string, len(answers))
	for i, s := range answers {
		if errs[i] != nil {
			continue
		}
		ids[i] = s.Header.MemberID
		if s.Leader != "0" { // etcd's "no leader"
			named[i] = s.Leader
		}
	}
	if i := targets.Elected(ids, named); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("no member reports a reachable leader: %w", errors.Join(errs...))
}

// Client returns the JSON-gateway workload client.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	mode := cfg.ReadMode
	switch {
	case cfg.Final:
		mode = Linearizable
	case mode == "":
		mode = t.readMode
	case t.readMode != "" && mode != t.readMode:
		return nil, fmt.Errorf("etcd: --read-mode %s contradicts --target-opt read-mode=%s", mode, t.readMode)
	}
	switch mode {
	case "", Linearizable:
		return targets.HTTP(&client{}), nil
	case Serializable:
		return targets.HTTP(&client{serializable: true}), nil
	}
	return nil, fmt.Errorf("etcd: unknown read mode %q (want linearizable or serializable)", cfg.ReadMode)
}

type client struct {
	serializable bool
	// member marks the versions of per-member reads (MemberReader): each
	// member's own state, not a linearizable view.
	member bool
}

// Request encodes op for the gateway; the op id rides in the query string,
// which the gateway ignores. Bodies are appended by hand: this runs for every
// operation of the load.
//
// A compare-and-set from the empty value means "from absent" (workloads never
// write the empty value): etcd fails every VALUE comparison on a missing key,
// so it is asked whether the key was never created instead.
func (c *client) Request(op *history.Event, base string, t *vegeta.Target) error {
	var path string
	body := make([]byte, 0, 96+2*base64.StdEncoding.EncodedLen(len(op.Key))+base64.StdEncoding.EncodedLen(len(op.Value)+len(op.From)))
	switch op.F {
	case history.FRead:
		path = "/v3/kv/range"
		body = appendB64(append(body, `{"key":"`...), op.Key)
		if c.serializable {
			body = append(body, `","serializable":true}`...)
		} else {
			body = append(body, `"}`...)
		}
	case history.FWrite:
		path = "/v3/kv/put"
		body = appendB64(append(body, `{"key":"`...), op.Key)
		body = appendB64(append(body, `","value":"`...), op.Value)
		body = append(body, `"}`...)
	case history.FCAS:
		path = "/v3/kv/txn"
		body = appendB64(append(body, `{"compare":[{"key":"`...), op.Key)
		if op.From == "" {
			body = append(body, `","target":"CREATE","result":"EQUAL","create_revision":"0"}]`...)
		} else {
			body = appendB64(append(body, `","target":"VALUE","result":"EQUAL","value":"`...), op.From)
			body = append(body, `"}]`...)
		}
		body = appendB64(append(body, `,"success":[{"request_put":{"key":"`...), op.Key)
		body = appendB64(append(body, `","value":"`...), op.Value)
		body = append(body, `"}}]}`...)
	default:
		return fmt.Errorf("etcd: unsupported operation %q", op.F)
	}
	url := make([]byte, 0, len(base)+len(path)+24)
	url = append(append(append(url, base...), path...), "?op="...)
	url = strconv.AppendUint(url, op.ID, 10)
	t.Method = http.MethodPost
	t.URL = string(url)
	// No Content-Type: the gateway reads JSON whatever the header says, and
	// a header would cost vegeta a copy per request.
	t.Body = body
	t.Header = nil
	return nil
}

func appendB64(b []byte, s string) []byte {
	return base64.StdEncoding.AppendEncode(b, []byte(s))
}

// Classify follows DESIGN.md: a read that did not return 200 carries no
// information (fail, dropped by the checker); a write or cas that may have
// reached the cluster (timeout, connection reset, 5xx) is info; a request
// refused before it was sent, or a 4xx rejection, is fail. A cas whose
// comparison failed applied nothing: fail.
func (c *client) Classify(op *history.Event, res *vegeta.Result) targets.Outcome {
	if res.Code == http.StatusOK {
		switch op.F {
		case history.FRead:
			v, err := decodeRange(res.Body)
			if err != nil {
				return targets.Outcome{Type: history.Fail, Error: err.Error()}
			}
			return targets.Outcome{Type: history.OK, Value: v, Version: c.version(op.Version, res.Body, true)}
		case history.FCAS:
			ok, err := txnSucceeded(res.Body)
			if err != nil {
				return targets.Outcome{Type: history.Info, Error: err.Error()}
			}
			if !ok {
				// The failed comparison was a linearizable read at this
				// revision: the revision checker orders it too.
				return targets.Outcome{Type: history.Fail, Error: "compare failed", Version: c.version(op.Version, res.Body, false)}
			}
		}
		return targets.Outcome{Type: history.OK, Version: c.version(op.Version, res.Body, false)}
	}
	msg := res.Error
	if len(res.Body) > 0 {
		msg = strings.TrimSpace(msg + " " + string(bytes.TrimSpace(truncate(res.Body, 200))))
	}
	if op.F == history.FRead {
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	if res.Code == 0 {
		if notSent(res.Error) {
			return targets.Outcome{Type: history.Fail, Error: msg}
		}
		return targets.Outcome{Type: history.Info, Error: msg}
	}
	if res.Code >= 400 && res.Code < 500 && res.Code != http.StatusRequestTimeout && res.Code != 499 {
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	return targets.Outcome{Type: history.Info, Error: msg}
}

// notSent recognises transport errors raised before any byte of the request
// left: the operation certainly did not happen.
func notSent(err string) bool {
	return strings.Contains(err, "connection refused") ||
		strings.Contains(err, "no such host") ||
		strings.Contains(err, "network is unreachable")
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// decodeRange returns the value of the first key of a range response, "" if
// there is none. The gateway's answers have one shape, so the value is found
// by a scan that allocates only the decoded value; anything unexpected (an
// escape, a missing brace) goes through encoding/json instead.
func decodeRange(body []byte) (string, error) {
	if v, ok := scanRange(body); ok {
		return v, nil
	}
	var r struct {
		Kvs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("undecodable range response: %w", err)
	}
	if len(r.Kvs) == 0 {
		return "", nil
	}
	v, err := base64.StdEncoding.DecodeString(r.Kvs[0].Value)
	if err != nil {
		return "", fmt.Errorf("undecodable value: %w", err)
	}
	return string(v), nil
}

// scanRange is decodeRange's fast path. Base64 keys and values never contain
// quotes, braces or backslashes, so the first kv object ends at the first
// '}' after "kvs"; protojson may put spaces around ':' and ','.
func scanRange(body []byte) (string, bool) {
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' || bytes.IndexByte(body, '\\') >= 0 {
		return "", false
	}
	i := bytes.Index(body, []byte(`"kvs"`))
	if i < 0 {
		return "", bytes.Contains(body, []byte(`"header"`)) // no such key
	}
	obj := body[i:]
	end := bytes.IndexByte(obj, '}')
	if end < 0 {
		return "", false
	}
	obj = obj[:end]
	j := bytes.Index(obj, []byte(`"value"`))
	if j < 0 {
		return "", true // protojson leaves out an empty value
	}
	s, ok := jsonStringAfterColon(obj[j+len(`"value"`):])
	if !ok {
		return "", false
	}
	v := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(v, s)
	if err != nil {
		return "", false
	}
	return string(v[:n]), true
}

// jsonStringAfterColon reads `  :  "text"` and returns text (no escapes).
func jsonStringAfterColon(b []byte) ([]byte, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return nil, false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return nil, false
	}
	return b[1 : 1+end], true
}

// txnSucceeded reads "succeeded" from a txn response; protojson leaves it out
// when false.
func txnSucceeded(body []byte) (bool, error) {
	t := bytes.TrimSpace(body)
	if len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}' && bytes.IndexByte(t, '\\') < 0 {
		i := bytes.Index(t, []byte(`"succeeded"`))
		if i < 0 {
			return false, nil
		}
		rest := bytes.TrimLeft(t[i+len(`"succeeded"`):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			switch {
			case bytes.HasPrefix(rest, []byte("true")):
				return true, nil
			case bytes.HasPrefix(rest, []byte("false")):
				return false, nil
			}
		}
	}
	var r struct {
		Succeeded bool `json:"succeeded"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return false, fmt.Errorf("undecodable txn response: %w", err)
	}
	return r.Succeeded, nil
}

var _ targets.Failpointed = (*Target)(nil)

// FailpointPort is the port gofail serves on, when built with failpoints.
func (t *Target) FailpointPort() string {
	if !t.failpoints {
		return ""
	}
	return FailpointPort
}

// KnownFailpoints are etcd's gofail failpoints of the 3.5 to 3.7 servers
// (around raft save, WAL, apply, defragmentation and compaction), as its
// robustness tests use them; a node built from another version says which
// it has when one is missing.
func (*Target) KnownFailpoints() []string {
	return []string{
		"raftBeforeSave", "raftAfterSave", "raftBeforeSaveSnap", "raftAfterSaveSnap",
		"raftBeforeApplySnap", "raftAfterApplySnap", "raftAfterWALRelease",
		"raftBeforeLeaderSend", "raftBeforeFollowerSend",
		"applyBeforeOpenSnapshot", "beforeApplyOneConfChange", "beforeApplyOneEntryNormal",
		"backendBeforePreCommitHook", "commitBeforePreCommitHook", "commitAfterPreCommitHook",
		"defragBeforeCopy", "defragBeforeRename",
		"compactBeforeCommitScheduledCompact", "compactAfterCommitScheduledCompact",
		"compactBeforeSetFinishedCompact", "compactAfterSetFinishedCompact",
		"compactBeforeCommitBatch", "compactAfterCommitBatch",
		"walBeforeSync", "walAfterSync", "raftBeforeWALSaveSnaphot", "beforeCommit", "afterCommit",
		"beforeSendWatchResponse",
	}
}
