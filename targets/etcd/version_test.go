package etcd

import (
	"net/http"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
)

// The gateway's answers carry the header revision and each kv's
// mod_revision; the client records them as {"rev":R,"mod":M}.
func TestVersionRecorded(t *testing.T) {
	rangeBody := `{"header":{"cluster_id":"1", "member_id":"2", "revision":"13", "raft_term":"2"}, ` +
		`"kvs":[{"key":"azE=", "create_revision":"2", "mod_revision":"11", "version":"2", "value":"MQ=="}], "count":"1"}`
	for _, c := range []struct {
		cl   *client
		f    string
		body string
		want string
	}{
		{&client{}, history.FRead, rangeBody, `{"rev":13,"mod":11}`},
		{&client{serializable: true}, history.FRead, rangeBody, `{"rev":13,"mod":11,"ser":true}`},
		{&client{}, history.FRead, `{"header":{"revision":"4"}}`, `{"rev":4}`},
		{&client{}, history.FWrite, `{"header":{"cluster_id":"1","revision":"14"}}`, `{"rev":14}`},
		{&client{}, history.FCAS, `{"header":{"revision":"15"},"succeeded":true}`, `{"rev":15}`},
		{&client{}, history.FCAS, `{"header":{"revision":"15"}}`, `{"rev":15}`},
		{&client{}, history.FWrite, `{}`, ``},
	} {
		out := c.cl.Classify(&history.Event{F: c.f, Key: "k1"}, &vegeta.Result{Code: http.StatusOK, Body: []byte(c.body)})
		if string(out.Version) != c.want {
			t.Errorf("%s %s: version %s, want %s", c.f, c.body, out.Version, c.want)
		}
	}
}
