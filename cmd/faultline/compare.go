package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/report"
)

func (a *app) compareCmd() *cobra.Command {
	var out, title string
	cmd := &cobra.Command{
		Use:   "compare [flags] RUN_DIR...",
		Short: "write one report that overlays several runs",
		Example: `  faultline compare results/a results/b --out cmp
  faultline compare --title 'etcd 3.5 vs 3.7' results/etcd-3.5 results/etcd-3.7`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 1 {
				return errors.New("compare wants one or more run directories, e.g. faultline compare results/a results/b")
			}
			return nil
		},
	}
	inGroup(cmd.Flags(), groupOutput, func() {
		cmd.Flags().StringVar(&out, "out", "", "directory of the comparison (default: results/compare-<time>)")
		cmd.Flags().StringVar(&title, "title", "Faultline comparison", "title of the comparison page")
	})
	cmd.RunE = a.do(func(_ *cobra.Command, args []string) int { return cmdCompare(args, out, title, a.stdout, a.stderr) })
	return cmd
}

func cmdCompare(dirs []string, outDir, titleText string, stdout, stderr io.Writer) int {
	out, title := &outDir, &titleText
	if *out == "" {
		*out = filepath.Join("results", "compare-"+time.Now().Format("20060102-150405"))
	}
	var entries []report.CompareEntry
	for _, d := range dirs {
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
