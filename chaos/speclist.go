package chaos

import "strings"

// SplitList splits a --nemesis list on commas, keeping each fault's own
// parameters with it: "packet:delay=20ms,loss=5,kill" is
// ["packet:delay=20ms,loss=5", "kill"]. A part of the form key=value
// (no fault name before it) continues the fault before it.
func SplitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, _, isParam := strings.Cut(p, "=")
		if isParam && !strings.Contains(k, ":") && len(out) > 0 && strings.Contains(out[len(out)-1], ":") {
			out[len(out)-1] += "," + p
			continue
		}
		out = append(out, p)
	}
	return out
}
