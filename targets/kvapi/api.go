// Package kvapi is the small HTTP key-value protocol that Faultline's
// reference targets (raftkv, naive-paxos) speak, and the workload client for it.
//
//	GET  /kv/{key}              200 + value, 404 if absent          (read)
//	PUT  /kv/{key}              body = value, 200                   (write)
//	PUT  /kv/{key}?if={from}    200 if swapped, 412 if not          (compare-and-set)
//	GET  /health                200 once the node can serve
//	GET  /status                {"id": "n1", "leader": "n2"}
//
// Any other query parameter (the workload's op id) is ignored. Errors: 503
// when the node cannot serve (no leader), 504 when a write was submitted but
// its fate is unknown.
package kvapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// Key returns the key of a /kv/{key} request, unescaped, or false when the
// path names none.
func Key(r *http.Request) (string, bool) {
	key, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/kv/"))
	return key, err == nil && key != ""
}

// Status is the body of GET /status.
type Status struct {
	ID     string `json:"id"`
	Leader string `json:"leader"`
}

// Client is the workload client of the protocol.
type Client struct{}

// Request builds the request of op; the op id rides in the query string.
func (Client) Request(op *history.Event, base string, t *vegeta.Target) error {
	u := base + "/kv/" + url.PathEscape(op.Key) + "?op=" + strconv.FormatUint(op.ID, 10)
	switch op.F {
	case history.FRead:
		t.Method, t.Body = http.MethodGet, nil
	case history.FWrite:
		t.Method, t.Body = http.MethodPut, []byte(op.Value)
	case history.FCAS:
		t.Method, t.Body = http.MethodPut, []byte(op.Value)
		u += "&if=" + url.QueryEscape(op.From)
	case FTxn:
		t.Method, t.Body = http.MethodPost, op.Data
		u = base + "/txn?op=" + strconv.FormatUint(op.ID, 10)
	default:
		return fmt.Errorf("kvapi: unsupported operation %q", op.F)
	}
	t.URL = u
	t.Header = nil
	return nil
}

// Classify: a read that did not answer 200 or 404 carries no information
// (fail); 412 is a cas that certainly did not apply (fail); other 4xx are
// rejections before any effect (fail); a write that may have reached the
// cluster (timeout, reset, 5xx) is info; a connection refused is fail.
func (Client) Classify(op *history.Event, res *vegeta.Result) targets.Outcome {
	if op.F == FTxn {
		return classifyTxn(op, res)
	}
	switch {
	case res.Code == http.StatusOK:
		if op.F == history.FRead {
			return targets.Outcome{Type: history.OK, Value: string(res.Body)}
		}
		return targets.Outcome{Type: history.OK}
	case res.Code == http.StatusNotFound && op.F == history.FRead:
		return targets.Outcome{Type: history.OK}
	case res.Code == http.StatusPreconditionFailed && op.F == history.FCAS:
		return targets.Outcome{Type: history.Fail, Error: "compare failed"}
	}
	msg := strings.TrimSpace(res.Error + " " + truncate(string(res.Body), 200))
	switch {
	case op.F == history.FRead:
		return targets.Outcome{Type: history.Fail, Error: msg}
	case res.Code == 0 && strings.Contains(res.Error, "connection refused"):
		return targets.Outcome{Type: history.Fail, Error: msg}
	case res.Code >= 400 && res.Code < 500 && res.Code != http.StatusRequestTimeout:
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	return targets.Outcome{Type: history.Info, Error: msg}
}

// FTxn is the operation function of a transaction (bench/workload/txn).
const FTxn = "txn"

// classifyTxn: 200 is ok with the reads filled in; 400 is a transaction
// refused before anything was applied (fail); a read-only transaction that
// did not answer 200 carries no information (fail); any other answer may
// have applied the transaction's writes (info).
func classifyTxn(op *history.Event, res *vegeta.Result) targets.Outcome {
	msg := strings.TrimSpace(res.Error + " " + truncate(string(res.Body), 200))
	if res.Code == http.StatusOK {
		body := bytes.TrimSpace(res.Body)
		var mops []Mop
		if err := json.Unmarshal(body, &mops); err != nil {
			return targets.Outcome{Type: history.Info, Error: "unreadable answer: " + msg}
		}
		var buf bytes.Buffer
		if json.Compact(&buf, body) != nil {
			return targets.Outcome{Type: history.Info, Error: "unreadable answer: " + msg}
		}
		return targets.Outcome{Type: history.OK, Data: buf.Bytes()}
	}
	var mops []Mop
	readOnly := json.Unmarshal(op.Data, &mops) == nil && ReadOnly(mops)
	switch {
	case res.Code == http.StatusBadRequest, readOnly:
		return targets.Outcome{Type: history.Fail, Error: msg}
	case res.Code == 0 && strings.Contains(res.Error, "connection refused"):
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	return targets.Outcome{Type: history.Info, Error: msg}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Healthy asks /health.
func Healthy(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

// Leader asks every node for its status and returns the index of the node
// whose id the others name as leader.
func Leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	answers, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (Status, error) {
		var s Status
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b+"/status", nil)
		if err != nil {
			return s, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return s, err
		}
		defer resp.Body.Close()
		err = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&s)
		return s, err
	})
	ids, named := make([]string, len(answers)), make([]string, len(answers))
	for i, s := range answers {
		if errs[i] == nil {
			ids[i], named[i] = s.ID, s.Leader
		}
	}
	if i := targets.Elected(ids, named); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("no reachable node is named leader: %w", errors.Join(errs...))
}
