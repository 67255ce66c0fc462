package chaos

import "testing"

func TestMemberReplaceParameters(t *testing.T) {
	for _, spec := range []string{"member-replace", "member-replace:node=leader", "member-replace:node=follower", "member-shrink", "member-shrink:node=leader"} {
		f, err := Lookup(spec, DefaultOptions())
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		if n := f.Needs(); !n.Members || n.Nodes < 3 {
			t.Errorf("%s: needs %+v, want members on 3+ nodes", spec, n)
		}
	}
	for _, spec := range []string{"member-replace:node=all", "member-replace:count=2", "member-shrink:node=two"} {
		if _, err := Lookup(spec, DefaultOptions()); err == nil {
			t.Errorf("%s accepted", spec)
		}
	}
}
