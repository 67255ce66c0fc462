package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/faultline/faultline/checkers"

	"github.com/faultline/faultline/internal/safefile"
)

// HTMLFile is the per-run report.
const HTMLFile = "report.html"

//go:embed templates/*.html
var templates embed.FS

var funcs = template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"ms":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"pct":  func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"pctPtr": func(f *float64) string {
		if f == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100**f)
	},
	"pctOrDash": func(f float64) string {
		if math.IsNaN(f) {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*f)
	},
	// msOrDash is a latency in ms, to 0.1 ms below 10 ms; "-" for NaN.
	"msOrDash": func(f float64) string {
		switch {
		case math.IsNaN(f):
			return "-"
		case f < 10:
			return fmt.Sprintf("%.1f", f)
		}
		return fmt.Sprintf("%.0f", f)
	},
}

func parse(name string) *template.Template {
	return template.Must(template.New(name).Funcs(funcs).ParseFS(templates, "templates/"+name))
}

// PlotRef is a plot written into the run directory.
type PlotRef struct {
	Title    string
	PNG, SVG string
}

// NamedLatency is a row of the latency table.
type NamedLatency struct {
	Name string
	L    Latency
}

// AvailabilityRow is a line of the availability table.
type AvailabilityRow struct {
	Label string
	checkers.WindowStats
}

// AvailabilityRows lists each fault window, all of them together, and the
// time outside them.
func AvailabilityRows(d checkers.AvailabilityDetails) []AvailabilityRow {
	var rows []AvailabilityRow
	for i, w := range d.Windows {
		rows = append(rows, AvailabilityRow{Label: fmt.Sprintf("%s #%d (%.1f-%.1f s)", w.Kind, i+1, w.StartS, w.EndS), WindowStats: w})
	}
	if len(d.Windows) > 1 {
		rows = append(rows, AvailabilityRow{Label: "during faults", WindowStats: d.During})
	}
	return append(rows, AvailabilityRow{Label: "outside faults", WindowStats: d.Outside})
}

// RunPage is what report.html shows.
type RunPage struct {
	Title        string
	S            Summary
	Latencies    []NamedLatency
	Availability []AvailabilityRow
	Plots        []PlotRef
	// Files are links to artifacts and node logs, relative to the run directory.
	Files        []string
	ScenarioJSON string
}

// WriteHTML renders page into dir/report.html. The page is static: every
// link is a file of the run directory, nothing is fetched from the network.
func WriteHTML(dir string, page RunPage) error {
	var buf bytes.Buffer
	if err := parse("run.html").ExecuteTemplate(&buf, "run.html", page); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := safefile.WriteFile(dir, HTMLFile, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// RunFiles lists what a report links to: checker artifacts, node logs and
// the raw files of the run.
func RunFiles(dir string, s Summary) []string {
	var files []string
	for _, c := range s.Checks {
		files = append(files, c.Artifacts...)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*"))
	sort.Strings(logs)
	for _, l := range logs {
		if rel, err := filepath.Rel(dir, l); err == nil {
			files = append(files, rel)
		}
	}
	for _, f := range []string{"summary.json", "junit.xml", "history.jsonl", "results.bin", "scenario.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			files = append(files, f)
		}
	}
	return files
}
