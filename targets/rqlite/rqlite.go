// Package rqlite is the rqlite target (Raft + SQLite): rqlited built from
// github.com/rqlite/rqlite/v8 at any version the module proxy serves, with
// cgo and a static link (SQLite is C), run FROM scratch like etcd. The
// client is rqlite's HTTP API; the register workload lives in one table.
//
// A follower forwards writes and strong reads to the leader over rqlite's
// own cluster connection, so the client never sees a redirect (and would
// not follow one: targets/httpx refuses them). The read consistency level
// is the target option read-mode: strong (a read through the Raft log,
// the default), linearizable (a leader read confirmed by a heartbeat
// round), weak (the node that believes it leads reads locally) and none
// (any node reads its local SQLite: the known-stale mode).
package rqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
	"github.com/faultline/faultline/targets/httpx"
)

// DefaultVersion is the rqlite release built when none is named.
const DefaultVersion = "v8.43.4"

const (
	module   = "github.com/rqlite/rqlite/v8"
	command  = module + "/cmd/rqlited"
	httpPort = 4001
	raftPort = 4002
)

// replaces are rqlite's own go.mod replace directives, which Go ignores
// when the module is a dependency of the throwaway build module: without
// them the build picks the upstream packages rqlite has forked.
var replaces = []string{
	"github.com/armon/go-metrics=github.com/hashicorp/go-metrics@v0.5.1",
	"github.com/mattn/go-sqlite3=github.com/rqlite/go-sqlite3@v1.40.0",
}

// Read modes (target option read-mode, or --read-mode): rqlite's
// consistency levels.
const (
	Strong       = "strong"
	Linearizable = "linearizable"
	Weak         = "weak"
	None         = "none"
)

// Target is rqlite.
type Target struct {
	readMode string
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
	_ workload.Supporter   = (*Target)(nil)
)

// New returns the target configured by its options: read-mode (strong,
// linearizable, weak, none; default strong).
func New(opts map[string]string) (*Target, error) {
	t := &Target{}
	for k, v := range opts {
		switch k {
		case "read-mode":
			if !validMode(v) {
				return nil, fmt.Errorf("rqlite: --target-opt read-mode=%s: want strong, linearizable, weak or none", v)
			}
			t.readMode = v
		default:
			return nil, fmt.Errorf("rqlite: unknown target option %q (known: read-mode)", k)
		}
	}
	return t, nil
}

func validMode(m string) bool {
	return m == Strong || m == Linearizable || m == Weak || m == None
}

func (*Target) Name() string           { return "rqlite" }
func (*Target) DefaultVersion() string { return DefaultVersion }

// Module is the Go module rqlite is built from (--version names one of its
// versions).
func (*Target) Module() string { return module }

var _ interface{ Module() string } = (*Target)(nil)

// Supports: the register operations.
func (*Target) Supports(f string) bool {
	return f == history.FRead || f == history.FWrite || f == history.FCAS
}

func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: httpPort}, {Name: "raft", Number: raftPort}}
}

// Prepare builds a static rqlited for version (cgo: SQLite is C).
func (*Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version == "" {
		version = DefaultVersion
	}
	path, resolved, err := gobuild.Build(ctx, gobuild.Spec{
		Name: "rqlited", Module: module, Version: version, Package: command,
		Replace: replaces, CGO: true, CacheDir: opts.CacheDir, Log: opts.Log,
	})
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: resolved, Binary: path}, nil
}

// Node: every node is told the whole membership (-join) and waits for all
// of them before the first election (-bootstrap-expect); a restarted node
// finds its Raft state in its data directory and rejoins.
func (*Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	bind := self.Bind
	if bind == "" {
		bind = "0.0.0.0"
	}
	var join []string
	for _, p := range peers {
		join = append(join, fmt.Sprintf("%s:%d", p.Host, p.Ports["raft"]))
	}
	hp, rp := self.Ports[targets.ClientPort], self.Ports["raft"]
	return targets.NodeSpec{Args: []string{
		"-node-id", self.Name,
		"-http-addr", fmt.Sprintf("%s:%d", bind, hp),
		"-http-adv-addr", fmt.Sprintf("%s:%d", self.Host, hp),
		"-raft-addr", fmt.Sprintf("%s:%d", bind, rp),
		"-raft-adv-addr", fmt.Sprintf("%s:%d", self.Host, rp),
		"-bootstrap-expect", strconv.Itoa(len(peers)),
		"-join", strings.Join(join, ","),
		"-join-attempts", "120", "-join-interval", "1s",
		self.DataDir,
	},
		// A static glibc binary cannot load glibc's NSS modules (there are
		// none FROM scratch): resolve peer names with Go's own resolver.
		Env: []string{"GODEBUG=netdns=go"},
	}
}

// Healthy asks /readyz, which answers 200 once the node knows a leader it
// can reach and its store is ready.
func (*Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// Leader asks each node's /status for its own id and the leader it knows.
func (*Target) Leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	type status struct {
		Store struct {
			NodeID string `json:"node_id"`
			Leader struct {
				NodeID string `json:"node_id"`
			} `json:"leader"`
		} `json:"store"`
	}
	answers, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (status, error) {
		var s status
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b+"/status", nil)
		if err != nil {
			return s, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return s, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return s, fmt.Errorf("status: %s", resp.Status)
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s)
		return s, err
	})
	ids, named := make([]string, len(answers)), make([]string, len(answers))
	for i, s := range answers {
		if errs[i] == nil {
			ids[i], named[i] = s.Store.NodeID, s.Store.Leader.NodeID
		}
	}
	if i := targets.Elected(ids, named); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("rqlite: no node reports a reachable leader: %w", errors.Join(errs...))
}

// Client returns the HTTP API client at the configured read level; the
// final phase reads at strong whatever the load used.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	mode := cfg.ReadMode
	switch {
	case cfg.Final:
		mode = Strong
	case mode == "":
		mode = t.readMode
	case t.readMode != "" && mode != t.readMode:
		return nil, fmt.Errorf("rqlite: --read-mode %s contradicts --target-opt read-mode=%s", mode, t.readMode)
	}
	if mode == "" {
		mode = Strong
	}
	if !validMode(mode) {
		return nil, fmt.Errorf("rqlite: unknown read mode %q (want strong, linearizable, weak or none)", mode)
	}
	c := &client{level: mode}
	return &setupClient{Client: targets.HTTP(c), client: c}, nil
}

// setupClient is the HTTP client plus its Setup (targets.HTTP's adapter
// only carries Do, Request and Classify).
type setupClient struct {
	targets.Client
	*client
}

var (
	_ targets.Setupper  = (*setupClient)(nil)
	_ targets.Requester = (*setupClient)(nil)
)

// schema is the register table: one row per key.
const schema = `CREATE TABLE IF NOT EXISTS regs (k TEXT PRIMARY KEY, v TEXT NOT NULL)`

const (
	sqlWrite   = `INSERT OR REPLACE INTO regs (k, v) VALUES (?, ?)`
	sqlCAS     = `UPDATE regs SET v = ? WHERE k = ? AND v = ?`
	sqlCreate  = `INSERT OR IGNORE INTO regs (k, v) VALUES (?, ?)`
	sqlRead    = `SELECT v FROM regs WHERE k = ?`
	setupLimit = 60 * time.Second
)

type client struct {
	level string
}

// Setup creates the table through any node that takes it (a follower
// forwards it to the leader), retried until the cluster has settled.
func (c *client) Setup(ctx context.Context, bases []string) error {
	ctx, cancel := context.WithTimeout(ctx, setupLimit)
	defer cancel()
	hc := httpx.NewClient(5 * time.Second)
	body, _ := json.Marshal([][]string{{schema}})
	var last error
	for attempt := 0; ; attempt++ {
		base := bases[attempt%len(bases)]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/db/execute", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if _, _, err = decodeExecute(b); err == nil {
					return nil
				}
			} else {
				err = fmt.Errorf("%s %s", resp.Status, bytes.TrimSpace(b))
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("rqlite: create the register table: %w", last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Request encodes op as one parameterised statement. Writes go to
// /db/execute; reads to /db/query at the client's level.
func (c *client) Request(op *history.Event, base string, t *vegeta.Target) error {
	var stmt []string
	path := "/db/execute?"
	switch op.F {
	case history.FRead:
		stmt = []string{sqlRead, op.Key}
		path = "/db/query?level=" + c.level + "&"
	case history.FWrite:
		stmt = []string{sqlWrite, op.Key, op.Value}
	case history.FCAS:
		if op.From == "" { // from absent: workloads never write ""
			stmt = []string{sqlCreate, op.Key, op.Value}
		} else {
			stmt = []string{sqlCAS, op.Value, op.Key, op.From}
		}
	default:
		return fmt.Errorf("rqlite: unsupported operation %q", op.F)
	}
	body, err := json.Marshal([][]string{stmt})
	if err != nil {
		return err
	}
	t.Method = http.MethodPost
	t.URL = base + path + "op=" + strconv.FormatUint(op.ID, 10)
	t.Body = body
	t.Header = http.Header{"Content-Type": []string{"application/json"}}
	return nil
}

// Classify: a read that did not answer 200 with a result carries no
// information (fail). A write refused before it was sent, or answered with
// a statement error (SQLite rejected it: nothing applied), is fail; one
// that may have reached the leader (a timeout, a reset, a 5xx such as
// "leadership lost while committing") is info. A cas that changed no row
// failed its comparison: fail.
func (c *client) Classify(op *history.Event, res *vegeta.Result) targets.Outcome {
	if res.Code == http.StatusOK {
		if op.F == history.FRead {
			v, err := decodeQuery(res.Body)
			if err != nil {
				return targets.Outcome{Type: history.Fail, Error: err.Error()}
			}
			return targets.Outcome{Type: history.OK, Value: v}
		}
		rows, stmtErr, err := decodeExecute(res.Body)
		switch {
		case err != nil:
			return targets.Outcome{Type: history.Info, Error: err.Error()}
		case stmtErr != "":
			return targets.Outcome{Type: history.Fail, Error: stmtErr}
		case op.F == history.FCAS && rows == 0:
			return targets.Outcome{Type: history.Fail, Error: "compare failed"}
		}
		return targets.Outcome{Type: history.OK}
	}
	msg := res.Error
	if len(res.Body) > 0 {
		b := bytes.TrimSpace(res.Body)
		if len(b) > 200 {
			b = b[:200]
		}
		msg = strings.TrimSpace(msg + " " + string(b))
	}
	if op.F == history.FRead {
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	if res.Code == 0 && (strings.Contains(res.Error, "connection refused") || strings.Contains(res.Error, "network is unreachable")) {
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	if res.Code >= 400 && res.Code < 500 && res.Code != http.StatusRequestTimeout {
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	return targets.Outcome{Type: history.Info, Error: msg}
}

// decodeExecute returns the rows the one statement changed, or the error
// SQLite gave it.
func decodeExecute(body []byte) (rows int64, stmtErr string, err error) {
	var r struct {
		Results []struct {
			RowsAffected int64  `json:"rows_affected"`
			Error        string `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, "", fmt.Errorf("undecodable execute response: %w", err)
	}
	if r.Error != "" {
		return 0, "", fmt.Errorf("execute: %s", r.Error)
	}
	if len(r.Results) != 1 {
		return 0, "", fmt.Errorf("execute: %d results for one statement", len(r.Results))
	}
	return r.Results[0].RowsAffected, r.Results[0].Error, nil
}

// decodeQuery returns the value of the key read, "" when there is no row.
func decodeQuery(body []byte) (string, error) {
	var r struct {
		Results []struct {
			Values [][]*string `json:"values"`
			Error  string      `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("undecodable query response: %w", err)
	}
	if r.Error != "" {
		return "", fmt.Errorf("query: %s", r.Error)
	}
	if len(r.Results) != 1 {
		return "", fmt.Errorf("query: %d results for one statement", len(r.Results))
	}
	if r.Results[0].Error != "" {
		return "", fmt.Errorf("query: %s", r.Results[0].Error)
	}
	if len(r.Results[0].Values) == 0 || len(r.Results[0].Values[0]) == 0 || r.Results[0].Values[0][0] == nil {
		return "", nil
	}
	return *r.Results[0].Values[0][0], nil
}
