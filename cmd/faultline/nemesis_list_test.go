package main

import (
	"slices"
	"testing"
)

func TestSplitNemesisKeepsParameters(t *testing.T) {
	for in, want := range map[string][]string{
		"partition,kill":                             {"partition", "kill"},
		"delay:ms=50,jitter=10ms,kill":               {"delay:ms=50,jitter=10ms", "kill"},
		"corrupt-file:pattern=*.db,mode=flip,loss":   {"corrupt-file:pattern=*.db,mode=flip", "loss"},
		"kill,lose-unsynced:nodes=all":               {"kill", "lose-unsynced:nodes=all"},
		"clock-skew:ms=500,clock-bump:ms=-2000,kill": {"clock-skew:ms=500", "clock-bump:ms=-2000", "kill"},
	} {
		if got := splitNemesis(in); !slices.Equal(got, want) {
			t.Errorf("splitNemesis(%q) = %q, want %q", in, got, want)
		}
	}
}
