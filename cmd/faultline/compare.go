package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/report"
)

func cmdCompare(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("compare", stderr)
	out := fs.String("out", "", "directory of the comparison (default: results/compare-<time>)")
	title := fs.String("title", "Faultline comparison", "title of the comparison page")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() < 1 {
		return usageErr(stderr, errors.New("compare wants one or more run directories, e.g. faultline compare results/a results/b"))
	}
	if *out == "" {
		*out = filepath.Join("results", "compare-"+time.Now().Format("20060102-150405"))
	}
	var entries []report.CompareEntry
	for _, d := range fs.Args() {
		entries = append(entries, report.CompareEntry{Dir: d})
	}
	page, err := report.Compare(*out, *title, entries)
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
	}
	for _, r := range page.Rows {
		fmt.Fprintf(stdout, "%-40s %-8s %8.1f ok/s  p99 %8.1f ms\n", r.Label, r.Verdict, r.OKPerS, r.P99)
	}
	fmt.Fprintf(stdout, "comparison written to %s\n", filepath.Join(*out, "index.html"))
	if err != nil {
		return faultline.ExitInfra
	}
	return faultline.ExitPass
}
