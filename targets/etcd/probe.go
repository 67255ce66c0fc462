package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/faultline/faultline/targets"
)

var _ targets.MemberReader = (*Target)(nil)

// MemberClient reads with serializable ranges: each member answers from its
// own store, which is what members-agree compares.
func (*Target) MemberClient() (targets.Client, error) {
	return targets.HTTP(&client{serializable: true, member: true}), nil
}

// post sends body to path on one member and decodes its answer.
func post(ctx context.Context, hc *http.Client, base, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s: %s: %s", base, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// num is an int64 that protojson writes as a string.
type num int64

func (n *num) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	*n = num(v)
	return err
}

// Probe asks each member for /v3/maintenance/status (its revision and
// applied raft index), then for /v3/maintenance/hashkv at the smallest
// revision every member reached: equal data gives equal hashes. Before 3.6
// the gateway serves HashKV at /v3/maintenance/hash, a path Hash (of the
// whole backend) shares and wins: that hash is recorded as Whole, which the
// checker compares only between members at the same revision and raft
// index.
func (*Target) Probe(ctx context.Context, hc *http.Client, bases []string) ([]targets.MemberProbe, []error) {
	type status struct {
		Header struct {
			Revision num `json:"revision"`
		} `json:"header"`
		RaftAppliedIndex num `json:"raftAppliedIndex"`
		RaftIndex        num `json:"raftIndex"`
	}
	sts, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (status, error) {
		var s status
		err := post(ctx, hc, b, "/v3/maintenance/status", "{}", &s)
		return s, err
	})
	out := make([]targets.MemberProbe, len(bases))
	common := int64(0)
	for i, s := range sts {
		if errs[i] != nil {
			continue
		}
		idx := s.RaftAppliedIndex
		if idx == 0 {
			idx = s.RaftIndex // 3.4 reports no applied index
		}
		out[i].Revision, out[i].RaftIndex = int64(s.Header.Revision), uint64(idx)
		out[i].Applied = s.RaftAppliedIndex != 0
		if common == 0 || out[i].Revision < common {
			common = out[i].Revision
		}
	}
	if common == 0 {
		return out, errs
	}
	type hash struct {
		Hash            num  `json:"hash"`
		CompactRevision *num `json:"compact_revision"`
	}
	body := fmt.Sprintf(`{"revision":"%d"}`, common)
	hs, herrs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (hash, error) {
		var h hash
		err := post(ctx, hc, b, "/v3/maintenance/hashkv", body, &h)
		if err != nil && strings.Contains(err.Error(), "404") {
			// Before 3.6 the gateway serves HashKV at /v3/maintenance/hash,
			// a path it shares with Hash (of the whole backend, meta
			// included): only an answer with compact_revision is HashKV's.
			h = hash{}
			err = post(ctx, hc, b, "/v3/maintenance/hash", body, &h)
		}
		return h, err
	})
	// Asked again: a member whose revision or index moved was still
	// applying, so its revision is not yet that of its index.
	again, aerrs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (status, error) {
		var s status
		err := post(ctx, hc, b, "/v3/maintenance/status", "{}", &s)
		return s, err
	})
	for i, s := range again {
		if errs[i] == nil && (aerrs[i] != nil || s.Header.Revision != sts[i].Header.Revision ||
			s.RaftAppliedIndex != sts[i].RaftAppliedIndex) {
			out[i].Applied = false
		}
	}
	for i, h := range hs {
		if errs[i] != nil {
			continue
		}
		if herrs[i] != nil {
			errs[i] = herrs[i]
			continue
		}
		out[i].HashRevision, out[i].Hash = common, uint64(h.Hash)
		if h.CompactRevision != nil {
			out[i].CompactRevision = int64(*h.CompactRevision)
		} else {
			// Hash's answer: the whole backend at the member's latest
			// revision (consistent index and term left out).
			out[i].HashRevision, out[i].Whole = out[i].Revision, true
		}
	}
	return out, errs
}
