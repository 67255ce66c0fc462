package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"cluster", "load", "chaos", "check", "seed", "nemesis", "nodes", "timeline"}
	for word, want := range map[string]string{
		"clutser":  "cluster", // a swap
		"nemessis": "nemesis",
		"node":     "nodes",
		"lod":      "load",
		"xyz":      "",
		"timeout":  "",
		"cluster":  "cluster",
	} {
		if got := Closest(word, names); got != want {
			t.Errorf("%q: %q, want %q", word, got, want)
		}
	}
	if got := DidYouMean("cluster", names); got != "" {
		t.Errorf("an exact name is no typo: %q", got)
	}
}
