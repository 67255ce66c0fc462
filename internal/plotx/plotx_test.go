package plotx

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gonum.org/v1/plot/plotter"

	"github.com/faultline/faultline/history"
)

// A time plot keeps its span whatever the fault windows say (the shading has
// no data range), lists the fault in its legend, and saves as PNG and SVG.
func TestTimePlotAndSave(t *testing.T) {
	ws := []history.Window{{Kind: "partition", Start: 2e9, End: 50e9}}
	p := TimePlot("t", "time (s)", "ms", ws, 10)
	LogY(p)
	if err := AddScatter(p, "ok", plotter.XYs{{X: 1, Y: 3}, {X: 4, Y: 30}}, ColorOK); err != nil {
		t.Fatal(err)
	}
	if err := AddPercentileLines(p, plotter.XYs{{X: 0.5, Y: 3}}, plotter.XYs{{X: 0.5, Y: 30}}, true); err != nil {
		t.Fatal(err)
	}
	if p.X.Min != 0 || p.X.Max != 10 {
		t.Errorf("x axis %v-%v, want 0-10", p.X.Min, p.X.Max)
	}
	dir := t.TempDir()
	files, err := Save(p, dir, "x")
	if err != nil || !slices.Equal(files, []string{"x.png", "x.svg"}) {
		t.Fatalf("%v %v", files, err)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
