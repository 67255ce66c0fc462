package chaos

import (
	"strings"
	"testing"
)

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
	for _, spec := range []string{"member-replace:node=all", "member-replace:count=2", "member-shrink:node=two", "member-grow:node=leader"} {
		if _, err := Lookup(spec, DefaultOptions()); err == nil {
			t.Errorf("%s accepted", spec)
		}
	}
}

func TestMemberGrowPlan(t *testing.T) {
	f, err := Lookup("member-grow", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Needs(); !n.Members || n.Nodes != 1 {
		t.Errorf("member-grow needs %+v, want members from 1 node", n)
	}
	pc, ok := f.(PlanChecker)
	if !ok {
		t.Fatal("member-grow is not a PlanChecker: the docker runtime would not be refused before launch")
	}
	for _, rt := range []string{"docker", "auto"} {
		if err := pc.CheckPlan(PlanInfo{Runtime: rt, Root: true}); err == nil || !strings.Contains(err.Error(), "--runtime local") {
			t.Errorf("--runtime %s: %v, want a refusal naming --runtime local", rt, err)
		}
	}
	if err := pc.CheckPlan(PlanInfo{Runtime: "local"}); err != nil {
		t.Errorf("--runtime local: %v", err)
	}
}
