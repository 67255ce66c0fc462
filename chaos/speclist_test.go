package chaos_test

import (
	"slices"
	"testing"

	"github.com/faultline/faultline/chaos"
)

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"kill,partition":                                       {"kill", "partition"},
		"packet:delay=20ms,loss=5,kill":                        {"packet:delay=20ms,loss=5", "kill"},
		"loss:percent=10, delay:ms=5,jitter=1ms":               {"loss:percent=10", "delay:ms=5,jitter=1ms"},
		"kill:signal=TERM,grace=2s,slow-cpu:quota=20%,node=n2": {"kill:signal=TERM,grace=2s", "slow-cpu:quota=20%,node=n2"},
		"": nil,
	} {
		if got := chaos.SplitList(in); !slices.Equal(got, want) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
	// A stray parameter with no fault before it stays a part of its own,
	// which Parse then refuses as an unknown fault.
	if got := chaos.SplitList("jitter=1ms"); !slices.Equal(got, []string{"jitter=1ms"}) {
		t.Errorf("stray parameter: %q", got)
	}
}
