package elle

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/safefile"
)

// Details is the checker's structured finding.
type Details struct {
	Workload string `json:"workload"`
	Model    string `json:"model"`
	// Counts is every anomaly found, by type; Anomalies holds examples.
	Counts    map[string]int  `json:"counts,omitempty"`
	Anomalies []AnomalyReport `json:"anomalies,omitempty"`
	// RuledOut is every model of the six the history rules out.
	RuledOut []string `json:"ruled_out,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// AnomalyReport is one anomaly: its transactions and, for a cycle, its
// edges in order.
type AnomalyReport struct {
	Type string `json:"type"`
	// RulesOut is the weakest models the anomaly rules out; Forbidden says
	// whether the checked model is one of those or stronger.
	RulesOut    []string     `json:"rules_out"`
	Forbidden   bool         `json:"forbidden"`
	Key         string       `json:"key,omitempty"`
	Txns        []TxnReport  `json:"txns"`
	Edges       []EdgeReport `json:"edges,omitempty"`
	Explanation string       `json:"explanation"`
	// Picture is the SVG drawing of the cycle, in the run directory.
	Picture string `json:"picture,omitempty"`
}

// TxnReport is a transaction as an explanation names it.
type TxnReport struct {
	Name    string `json:"name"`
	ID      uint64 `json:"id"`
	Process int    `json:"process"`
	Node    string `json:"node,omitempty"`
	Type    string `json:"type"`
	Call    int64  `json:"call_ns"`
	Return  int64  `json:"return_ns"`
	Ops     string `json:"ops"`
}

// EdgeReport is one dependency of a cycle.
type EdgeReport struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
	Key  string `json:"key,omitempty"`
	Why  string `json:"why"`
}

// severity orders anomaly types in reports: the plainest violations first.
var severity = []string{GarbageRead, DuplicateElements, CyclicVersions, G0, G1a, G1b, IncompatibleOrder, FutureRead, G1c,
	Internal, LostUpdate, GSingle, GNonadjacent, G2Item,
	CyclicVersions + realtimeSuffix, G0 + realtimeSuffix, G1c + realtimeSuffix, GSingle + realtimeSuffix, GNonadjacent + realtimeSuffix, G2Item + realtimeSuffix}

func rank(t string) int {
	if i := slices.Index(severity, t); i >= 0 {
		return i
	}
	return len(severity)
}

// seconds shows a history time (ns since the load began) to the
// microsecond.
func seconds(ns int64) string { return time.Duration(ns).Round(time.Microsecond).String() }

func (a *analysis) txnReport(t int32, name string) TxnReport {
	x := &a.txns[t]
	return TxnReport{Name: name, ID: x.op.ID, Process: int(x.op.Process), Node: x.op.Node, Type: x.typ.String(),
		Call: x.op.Call, Return: x.op.Return, Ops: formatMops(x.mops, a.keys.names, x.typ == history.OK)}
}

func (t TxnReport) line() string {
	when := seconds(t.Call) + "–" + seconds(t.Return)
	if t.Return < 0 {
		when = seconds(t.Call) + "–(never completed)"
	}
	node := ""
	if t.Node != "" {
		node = ", node " + t.Node
	}
	return fmt.Sprintf("  %s = op %d, process %d%s, %s, %s: %s", t.Name, t.ID, t.Process, node, t.Type, when, t.Ops)
}

// report sets the verdict, summary, explanation, pictures and details.
func (a *analysis) report(r *checkers.Result, dir string, g *graph) {
	c := a.c
	types := make([]string, 0, len(a.counts))
	for t := range a.counts {
		types = append(types, t)
	}
	slices.SortFunc(types, func(x, y string) int {
		if d := cmp.Compare(rank(x), rank(y)); d != 0 {
			return d
		}
		return cmp.Compare(x, y)
	})
	det := &Details{Workload: c.workload.String(), Model: string(c.model), Counts: a.counts, Notes: a.notes}
	ruled := map[Model]bool{}
	var forbidden, allowed []string
	for _, t := range types {
		for _, m := range Models {
			if Forbids(m, t) {
				ruled[m] = true
			}
		}
		s := fmt.Sprintf("%s ×%d (rules out %s)", t, a.counts[t], modelList(RulesOut(t)))
		if Forbids(c.model, t) {
			forbidden = append(forbidden, s)
		} else {
			allowed = append(allowed, s)
		}
	}
	for _, m := range Models {
		if ruled[m] {
			det.RuledOut = append(det.RuledOut, string(m))
		}
	}
	var lines []string
	svgs := 0
	for _, t := range types {
		for i, f := range a.findings[t] {
			if i >= c.maxExamples {
				break
			}
			rep := a.explain(f, g)
			rep.Forbidden = Forbids(c.model, t)
			if f.cyc != nil && dir != "" && svgs < c.maxSVGs {
				name := fmt.Sprintf("elle-%s-%d.svg", t, i+1)
				if err := safefile.WriteFile(dir, name, []byte(cycleSVG(rep)), 0o644); err != nil {
					a.notes = append(a.notes, "cannot write "+name+": "+err.Error())
				} else {
					rep.Picture = name
					r.Artifacts = append(r.Artifacts, name)
					svgs++
				}
			}
			lines = append(lines, rep.text(i+1, c.model)...)
			det.Anomalies = append(det.Anomalies, rep)
		}
		if n := a.counts[t]; n > c.maxExamples {
			lines = append(lines, fmt.Sprintf("... and %d more %s (WithMaxExamples is %d)", n-c.maxExamples, t, c.maxExamples))
		}
	}
	det.Notes = a.notes
	lines = append(lines, a.notes...)
	r.Details = det
	r.Explanation = strings.Join(lines, "\n")
	switch {
	case len(forbidden) > 0:
		r.Verdict = checkers.Invalid
		r.Summary = fmt.Sprintf("%d transactions not %s: %s", len(a.txns), c.model, strings.Join(forbidden, ", "))
		if len(allowed) > 0 {
			r.Summary += "; also found, which " + string(c.model) + " allows: " + strings.Join(allowed, ", ")
		}
	case len(allowed) > 0:
		r.Verdict = checkers.Valid
		r.Summary = fmt.Sprintf("%d transactions consistent with %s; found only anomalies it allows: %s", len(a.txns), c.model, strings.Join(allowed, ", "))
	default:
		r.Verdict = checkers.Valid
		r.Summary = fmt.Sprintf("%d transactions (%d keys) consistent with %s: no anomaly found", len(a.txns), len(a.keys.names), c.model)
	}
	if r.Verdict == checkers.Valid && a.cut > 0 && (Forbids(c.model, GSingle) || Forbids(c.model, GNonadjacent)) {
		// A G-single or G-nonadjacent may be there, unfound: not a pass.
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("%d transactions: no anomaly %s forbids was found, but the cycle search ran out of budget in %d strongly connected component(s), which may hold a G-single or G-nonadjacent",
			len(a.txns), c.model, a.cut)
	}
	if r.Verdict == checkers.Valid && len(g.to) == 0 {
		// Nothing relates any two transactions: nothing was checked (Elle's
		// empty-transaction-graph, which is unknown, not valid).
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("no dependency between any two of the %d transactions could be inferred, so nothing was checked", len(a.txns))
		if len(allowed) > 0 {
			r.Summary += "; found only anomalies " + string(c.model) + " allows: " + strings.Join(allowed, ", ")
		}
	}
	if len(a.notes) > 0 && r.Verdict == checkers.Valid && len(forbidden) == 0 {
		r.Summary += " (" + strings.Join(a.notes, "; ") + ")"
	}
}

// explain turns a finding into its report, naming its transactions T1,
// T2, ... in cycle order.
func (a *analysis) explain(f finding, g *graph) AnomalyReport {
	rep := AnomalyReport{Type: f.typ}
	for _, m := range RulesOut(f.typ) {
		rep.RulesOut = append(rep.RulesOut, string(m))
	}
	members := f.txns
	if f.cyc != nil {
		members = f.cyc.nodes
	}
	names := map[int32]string{}
	for i, t := range members {
		if _, ok := names[t]; !ok && t >= 0 {
			names[t] = fmt.Sprintf("T%d", i+1)
			rep.Txns = append(rep.Txns, a.txnReport(t, names[t]))
		}
	}
	name := func(t int32) string {
		if n, ok := names[t]; ok {
			return n
		}
		if t < 0 {
			return "a transaction"
		}
		op := a.txns[t].op
		return fmt.Sprintf("op %d (process %d)", op.ID, op.Process)
	}
	if f.cyc == nil {
		rep.Key = a.keys.names[f.key]
		text := f.text
		for i, t := range f.txns {
			text = strings.ReplaceAll(text, fmt.Sprintf("{%d}", i), name(t))
		}
		all := make([]string, len(f.txns))
		for i, t := range f.txns {
			all[i] = name(t)
		}
		rep.Explanation = strings.ReplaceAll(text, "{all}", strings.Join(all, ", "))
		return rep
	}
	n := len(f.cyc.nodes)
	var why []string
	for i, x := range f.cyc.nodes {
		y := f.cyc.nodes[(i+1)%n]
		r := f.cyc.rels[i]
		er := EdgeReport{From: name(x), To: name(y), Type: r.String()}
		if r == relRT {
			er.Why = fmt.Sprintf("%s completed at %s, before %s was invoked at %s", name(x), seconds(a.txns[x].op.Return), name(y), seconds(a.txns[y].op.Call))
		} else {
			k := int32(-1)
			if e := g.edge(x, y); e >= 0 {
				k = g.why[e][whySlot(r)]
			}
			if k >= 0 {
				er.Key = a.keys.names[k]
				if a.la != nil {
					er.Why = a.explainAppend(x, y, r, k, name)
				} else {
					er.Why = a.explainRegister(x, y, r, k, name)
				}
			}
		}
		rep.Edges = append(rep.Edges, er)
		why = append(why, fmt.Sprintf("%s -%s-> %s", er.From, er.Type, er.To))
	}
	rep.Explanation = fmt.Sprintf("a cycle of %d transactions: %s", n, strings.Join(why, ", "))
	return rep
}

func (rep AnomalyReport) text(i int, m Model) []string {
	verdict := "which " + string(m) + " allows"
	if rep.Forbidden {
		verdict = "forbidden by " + string(m)
	}
	head := fmt.Sprintf("%s #%d (rules out %s; %s)", rep.Type, i, strings.Join(rep.RulesOut, " and "), verdict)
	if rep.Picture != "" {
		head += ", picture " + rep.Picture
	}
	lines := []string{head + ": " + rep.Explanation}
	for _, t := range rep.Txns {
		lines = append(lines, t.line())
	}
	for _, e := range rep.Edges {
		lines = append(lines, fmt.Sprintf("  %s -%s-> %s: %s", e.From, e.Type, e.To, e.Why))
	}
	return lines
}

var edgeColors = map[string]string{"ww": "#1f5fbf", "wr": "#2e8b3a", "rw": "#c0392b", "realtime": "#7f7f7f"}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// cycleSVG draws a cycle: its transactions on a circle, each edge an arrow
// labelled with its kind and key, and the transactions listed below.
// Plain SVG, no external assets.
func cycleSVG(rep AnomalyReport) string {
	n := len(rep.Edges)
	radius := math.Max(110, float64(n)*38)
	const nodeR = 30.0
	cx, cy := radius+140, radius+90
	width := 2*cx + 0
	listTop := 2*cy + 10
	height := listTop + float64(len(rep.Txns)+len(rep.Edges))*18 + 30
	width = math.Max(width, 900)
	for _, t := range rep.Txns {
		width = math.Max(width, float64(len(t.line()))*7.3+40)
	}
	for _, e := range rep.Edges {
		width = math.Max(width, float64(len(e.Why)+len(e.From)+len(e.To)+12)*6.8+40)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif">`+"\n", width, height, width, height)
	sb.WriteString("<defs>\n")
	for k, col := range map[string]string{"ww": edgeColors["ww"], "wr": edgeColors["wr"], "rw": edgeColors["rw"], "realtime": edgeColors["realtime"]} {
		fmt.Fprintf(&sb, `<marker id="arrow-%s" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n", k, col)
	}
	sb.WriteString("</defs>\n")
	fmt.Fprintf(&sb, `<rect width="100%%" height="100%%" fill="white"/><text x="20" y="30" font-size="18" font-weight="bold">%s: %s</text>`+"\n",
		xmlEscape(rep.Type), xmlEscape("rules out "+strings.Join(rep.RulesOut, " and ")))
	pos := make([][2]float64, n)
	for i := range n {
		ang := -math.Pi/2 + 2*math.Pi*float64(i)/float64(n)
		pos[i] = [2]float64{cx + radius*math.Cos(ang), cy + radius*math.Sin(ang)}
	}
	for i, e := range rep.Edges {
		p, q := pos[i], pos[(i+1)%n]
		dx, dy := q[0]-p[0], q[1]-p[1]
		d := math.Hypot(dx, dy)
		ux, uy := dx/d, dy/d
		// Bend every arrow to its left, so that a two-cycle's arrows part.
		nx, ny := uy, -ux
		bend := math.Min(60, d/4)
		mx, my := (p[0]+q[0])/2+nx*bend, (p[1]+q[1])/2+ny*bend
		// Start and end on the nodes' rims, aimed at the control point.
		sx, sy := towards(p, mx, my, nodeR)
		tx, ty := towards(q, mx, my, nodeR+2)
		col := edgeColors[e.Type]
		fmt.Fprintf(&sb, `<path d="M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" fill="none" stroke="%s" stroke-width="2" marker-end="url(#arrow-%s)"/>`+"\n",
			sx, sy, mx, my, tx, ty, col, e.Type)
		lx, ly := (p[0]+q[0])/2+nx*bend*0.5, (p[1]+q[1])/2+ny*bend*0.5
		label := e.Type
		if e.Key != "" {
			label += " " + e.Key
		}
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="13" fill="%s" text-anchor="middle" dominant-baseline="middle" stroke="white" stroke-width="4" paint-order="stroke">%s</text>`+"\n",
			lx+nx*20, ly+ny*20, col, xmlEscape(label))
	}
	byName := map[string]TxnReport{}
	for _, t := range rep.Txns {
		byName[t.Name] = t
	}
	for i, e := range rep.Edges {
		t := byName[e.From]
		fmt.Fprintf(&sb, `<circle cx="%.1f" cy="%.1f" r="%.0f" fill="#f4f4f4" stroke="#333" stroke-width="1.5"/>`+"\n", pos[i][0], pos[i][1], nodeR)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="15" font-weight="bold" text-anchor="middle">%s</text>`+"\n", pos[i][0], pos[i][1]+1, xmlEscape(t.Name))
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">p%d op%d</text>`+"\n", pos[i][0], pos[i][1]+14, t.Process, t.ID)
	}
	y := listTop
	for _, t := range rep.Txns {
		fmt.Fprintf(&sb, `<text x="20" y="%.0f" font-size="12" font-family="monospace">%s</text>`+"\n", y, xmlEscape(strings.TrimSpace(t.line())))
		y += 18
	}
	for _, e := range rep.Edges {
		fmt.Fprintf(&sb, `<text x="20" y="%.0f" font-size="12" fill="%s">%s</text>`+"\n", y, edgeColors[e.Type], xmlEscape(fmt.Sprintf("%s -%s-> %s: %s", e.From, e.Type, e.To, e.Why)))
		y += 18
	}
	sb.WriteString("</svg>\n")
	return sb.String()
}

// towards is the point at distance r from c in the direction of (x, y).
func towards(c [2]float64, x, y, r float64) (float64, float64) {
	dx, dy := x-c[0], y-c[1]
	d := math.Hypot(dx, dy)
	if d == 0 {
		return c[0], c[1]
	}
	return c[0] + dx/d*r, c[1] + dy/d*r
}
