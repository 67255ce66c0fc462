package targets

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
)

// Transporter is implemented by a Client that carries its requests itself
// instead of over HTTP (see Native): the load gives vegeta's Attacker this
// round tripper.
type Transporter interface {
	Transport() http.RoundTripper
}

// outcomeHeader carries an OpClient's outcome from the round tripper to
// Classify.
const outcomeHeader = "Faultline-Outcome"

// Native adapts a non-HTTP client to Client: Request parks the operation and
// names it in a URL, the round tripper performs it with c.Do, and the
// synthesized response (200 ok, 409 fail, 503 info) lets vegeta time it and
// write it to results.bin like any HTTP request.
func Native(c OpClient) Client { return &native{c: c} }

type native struct {
	c   OpClient
	ops sync.Map // op id -> parked
}

type parked struct {
	op   history.Event
	base string
}

func (n *native) Transport() http.RoundTripper { return (*nativeTransport)(n) }

// Request parks op until vegeta sends it. The URL is for reading results:
// the node's endpoint, the function and the op id.
func (n *native) Request(op *history.Event, base string, t *vegeta.Target) error {
	n.ops.Store(op.ID, &parked{op: *op, base: base})
	t.Method = http.MethodPost
	t.URL = strings.TrimRight(base, "/") + "/" + url.PathEscape(op.F) + "?op=" + strconv.FormatUint(op.ID, 10)
	t.Body, t.Header = nil, nil
	return nil
}

// Classify reads the outcome the round tripper put in the response. A
// response that never came (the client's timeout) is info for a write and
// fail for a read, which carries no information.
func (n *native) Classify(op *history.Event, res *vegeta.Result) Outcome {
	if res.Code == 0 {
		// vegeta failed before the round trip: the operation may still be
		// parked.
		n.ops.Delete(op.ID)
	}
	t, err := history.ParseType(res.Headers.Get(outcomeHeader))
	if err != nil || t == history.Invoke {
		if op.F == history.FRead {
			return Outcome{Type: history.Fail, Error: res.Error}
		}
		return Outcome{Type: history.Info, Error: res.Error}
	}
	if t == history.OK {
		return Outcome{Type: t, Value: string(res.Body)}
	}
	return Outcome{Type: t, Error: string(res.Body)}
}

type nativeTransport native

func (n *nativeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	id, err := strconv.ParseUint(req.URL.Query().Get("op"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("native client: no op id in %s", req.URL)
	}
	v, ok := n.ops.LoadAndDelete(id)
	if !ok {
		return nil, errors.New("native client: operation " + strconv.FormatUint(id, 10) + " is unknown")
	}
	p := v.(*parked)
	out := n.c.Do(req.Context(), &p.op, p.base)
	code, body := http.StatusOK, out.Value
	switch out.Type {
	case history.OK:
	case history.Fail:
		code, body = http.StatusConflict, out.Error
	default:
		out.Type = history.Info
		code, body = http.StatusServiceUnavailable, out.Error
	}
	return &http.Response{
		Status:     strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{outcomeHeader: []string{out.Type.String()}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
