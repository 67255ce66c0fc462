package main

import (
	"slices"
	"testing"
)

// The search list runs from the bad version to the good one, releases only,
// whichever is older.
func TestBisectBetween(t *testing.T) {
	vs := []string{"v3.5.0", "v3.5.1", "v3.5.2-rc.0", "v3.5.2", "v3.5.3", "v3.5.4", "v3.6.0"}
	if got := between(vs, "v3.5.4", "v3.5.1"); !slices.Equal(got, []string{"v3.5.1", "v3.5.2", "v3.5.3", "v3.5.4"}) {
		t.Errorf("fix search: %v", got)
	}
	if got := between(vs, "v3.5.1", "v3.5.4"); !slices.Equal(got, []string{"v3.5.4", "v3.5.3", "v3.5.2", "v3.5.1"}) {
		t.Errorf("regression search: %v", got)
	}
}
