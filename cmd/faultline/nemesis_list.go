package main

import "strings"

// splitNemesis splits a --nemesis list at commas, except those inside a
// fault's own parameters: "delay:ms=50,jitter=10ms,kill" is two faults, since
// a part with "=" and no ":" continues the parameters before it.
func splitNemesis(s string) []string {
	var out []string
	for _, p := range splitList(s) {
		if n := len(out); n > 0 && strings.Contains(out[n-1], ":") && strings.Contains(p, "=") && !strings.Contains(p, ":") {
			out[n-1] += "," + p
			continue
		}
		out = append(out, p)
	}
	return out
}
