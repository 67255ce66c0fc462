package spec_test

import (
	"errors"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/spec"
)

// A path template that renders another host for some operations only passes
// validation (which renders two sample operations) but is refused on the
// request that would leave the node, as is one that renders userinfo.
func TestOpDependentHostRefusedAtRequestTime(t *testing.T) {
	for _, path := range []string{
		`{{if gt .Op 2}}@192.0.2.1{{end}}/kv/{{.Key}}`,
		`{{if gt .Op 2}}@{{end}}/kv/{{.Key}}`,
		`{{if gt .Op 2}}:1@192.0.2.1:80{{end}}/kv/{{.Key}}`,
	} {
		s := exampleSpec(t)
		s.Requests.Read.Path = path
		tg, err := spec.New(s, spec.Config{Nodes: 3})
		if err != nil {
			t.Fatalf("%s: validation: %v", path, err)
		}
		cl, err := tg.Client(targets.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for id := uint64(1); id <= 4; id++ {
			var vt vegeta.Target
			err := targets.ForLoad(cl).Request(&history.Event{F: history.FRead, ID: id, Key: "k1"}, "http://10.160.0.2:8080", &vt)
			switch {
			case id <= 2 && err != nil:
				t.Errorf("%s: op %d: %v", path, id, err)
			case id > 2 && !errors.Is(err, httpx.ErrRefused):
				t.Errorf("%s: op %d: built %q (%v), want it refused", path, id, vt.URL, err)
			case id > 2 && strings.Contains(err.Error(), "\n"):
				t.Errorf("%s: more than one line: %v", path, err)
			}
		}
	}
	// A template that renders userinfo for every operation is refused by
	// validation already.
	s := exampleSpec(t)
	s.Requests.Read.Path = `@192.0.2.1/kv/{{.Key}}`
	if _, err := spec.New(s, spec.Config{Nodes: 3}); err == nil {
		t.Errorf("a path that always leaves the node passed validation")
	}
}
