package targets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/httpx"
)

// Transporter is implemented by a Requester that carries its requests itself
// instead of over HTTP (see Native): the load gives vegeta's Attacker this
// round tripper.
type Transporter interface {
	Transport() http.RoundTripper
}

// ForLoad is the form of c that vegeta's Attacker sends: its own Requester
// when it speaks HTTP, else Native(c).
func ForLoad(c Client) Requester {
	if r, ok := c.(Requester); ok {
		return r
	}
	return Native(c)
}

// HTTP adapts an HTTP client to the Client contract: Do builds the request
// with r.Request, sends it (no proxy, no redirects followed) and classifies
// the answer with r.Classify, as the load would. The load itself finds r
// (ForLoad) and lets vegeta send it.
func HTTP(r Requester) Client { return &httpClient{Requester: r} }

type httpClient struct {
	Requester
	once sync.Once
	hc   *http.Client
}

var (
	_ Client    = (*httpClient)(nil)
	_ Requester = (*httpClient)(nil)
)

// maxBody bounds what is read of one answer (vegeta's MaxBody in the load).
const maxBody = 64 << 10

func (c *httpClient) client() *http.Client {
	// No proxy, no redirects (targets/httpx); each request's URL is checked
	// against its node in Do.
	c.once.Do(func() { c.hc = httpx.NewClient(0) })
	return c.hc
}

func (c *httpClient) Do(ctx context.Context, op *history.Event, base string) Outcome {
	var t vegeta.Target
	if err := c.Request(op, base, &t); err != nil {
		return Outcome{Type: history.Fail, Error: "build the request: " + err.Error()}
	}
	if err := httpx.CheckURL(t.URL, base); err != nil {
		return Outcome{Type: history.Fail, Error: err.Error()}
	}
	req, err := t.Request()
	if err != nil {
		return Outcome{Type: history.Fail, Error: "build the request: " + err.Error()}
	}
	start := time.Now()
	res := vegeta.Result{Attack: "do", Method: t.Method, URL: t.URL, Timestamp: start}
	resp, err := c.client().Do(req.WithContext(ctx))
	if err != nil {
		res.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			res.Error = "deadline: " + res.Error
		}
	} else {
		res.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		res.Code = uint16(resp.StatusCode)
		if res.Code < 200 || res.Code >= 400 {
			res.Error = resp.Status
		} else if err != nil {
			res.Error, res.Code = err.Error(), 0
		}
	}
	res.Latency = time.Since(start)
	return c.Classify(op, &res)
}

// CloseIdleConnections closes the keep-alive connections Do opened.
func (c *httpClient) CloseIdleConnections() {
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
}

// outcomeHeader carries a Client's outcome type from the round tripper to
// Classify.
const outcomeHeader = "Faultline-Outcome"

// Native adapts a non-HTTP client for vegeta: Request parks the operation
// and names it in a URL, the round tripper performs it with c.Do, and the
// synthesized response (200 ok, 409 fail, 503 info) lets vegeta time it and
// write it to results.bin like any HTTP request.
func Native(c Client) Requester { return &native{c: c} }

type native struct {
	c   Client
	ops sync.Map // op id -> *parked
}

var (
	_ Requester   = (*native)(nil)
	_ Transporter = (*native)(nil)
)

type parked struct {
	op   history.Event
	base string
	// out is what Do returned, kept for Classify (set before the response
	// reaches vegeta, read after vegeta hands the result back).
	out  Outcome
	done bool
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

// Classify takes the outcome the round tripper kept. A response that never
// came (the client's timeout) is info for a write and fail for a read,
// which carries no information.
func (n *native) Classify(op *history.Event, res *vegeta.Result) Outcome {
	v, ok := n.ops.LoadAndDelete(op.ID)
	if ok {
		if p := v.(*parked); p.done && res.Code != 0 {
			return p.out
		}
	}
	if op.F == history.FRead {
		return Outcome{Type: history.Fail, Error: res.Error}
	}
	return Outcome{Type: history.Info, Error: res.Error}
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
	v, ok := n.ops.Load(id)
	if !ok {
		return nil, errors.New("native client: operation " + strconv.FormatUint(id, 10) + " is unknown")
	}
	p := v.(*parked)
	out := n.c.Do(req.Context(), &p.op, p.base)
	code, body := http.StatusOK, out.Value
	switch out.Type {
	case history.OK:
		if len(out.Data) > 0 {
			body = string(out.Data)
		}
	case history.Fail:
		code, body = http.StatusConflict, out.Error
	default:
		out.Type = history.Info
		code, body = http.StatusServiceUnavailable, out.Error
	}
	p.out, p.done = out, true
	return &http.Response{
		Status:     strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{outcomeHeader: []string{out.Type.String()}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
