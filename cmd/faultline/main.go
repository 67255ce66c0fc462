// Command faultline launches a real cluster, drives load while injecting
// faults, checks the history for linearizability and writes a report.
//
//	faultline run   --target etcd --nodes 3 --nemesis partition --duration 30s --rate 200
//	faultline suite [--suite file] [--out results] [--only pattern]
//	faultline check results/<run>
//	faultline serve results/<run>
//	faultline cluster up --target etcd --nodes 3   (and: cluster down, cluster ls)
//	faultline clean --run <id> | --all
//
// Exit codes: 0 every check passed, 1 a check failed, 2 verdict unknown,
// 3 bad usage or configuration (nothing launched), 4 infrastructure error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/faultline/faultline"
)

func main() {
	// testcontainers prints a banner through its package logger; the CLI
	// speaks for itself.
	tclog.SetDefault(tclog.NewNoopLogger())
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// app is one invocation of the command line: its streams, the arguments as
// cobra parses them, and the exit code the command chose.
type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
	args           []string
	code           int
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{ctx: ctx, stdout: stdout, stderr: stderr}
	root := a.root()
	if len(args) == 0 {
		fmt.Fprint(stderr, root.UsageString())
		return faultline.ExitUsage
	}
	a.args = longFlags(root, args)
	root.SetArgs(a.args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if _, err := root.ExecuteC(); err != nil {
		// Flag syntax, unknown commands and wrong argument counts: cobra
		// found them before any command ran.
		return usageErr(stderr, err)
	}
	return a.code
}

// root is the command tree of one invocation (flags bind to fresh values
// every time, so tests can call run again and again).
func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "faultline",
		Short: "launch a real cluster, load it while injecting faults, check the history and report",
		Long: `Faultline launches a real cluster, drives load while injecting faults, checks the
history (linearizability, stale reads, lost writes, availability) and writes a report.

Exit codes: 0 every check passed, 1 a check failed, 2 verdict unknown,
3 bad usage or configuration (nothing launched), 4 infrastructure error.`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(a.stderr, cmd.UsageString())
			a.code = faultline.ExitUsage
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetUsageFunc(usageFunc)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(a.runCmd(), a.suiteCmd(), a.checkCmd(), a.compareCmd(), a.serveCmd(), a.clusterCmd(), a.cleanCmd(), a.versionCmd(), a.bisectCmd())
	root.AddCommand(a.completionCmd(root))
	return root
}

// do adapts a command body that returns an exit code to cobra.
func (a *app) do(f func(cmd *cobra.Command, args []string) int) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.code = f(cmd, args)
		return nil
	}
}

// usageErr prints one line and returns the usage exit code.
func usageErr(stderr io.Writer, err error) int {
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	msg = strings.ReplaceAll(msg, "\t", "")
	fmt.Fprintf(stderr, "faultline: %s\n", msg)
	return faultline.ExitUsage
}

// longFlags rewrites -name to --name where name is a long flag of some
// command: Go's flag package, which faultline used before cobra, accepted
// both, and scripts and READMEs out there use the single dash.
func longFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if len(name) > 1 && long[name] {
			out[i] = "-" + a
		}
	}
	return out
}

func joinList(l []string) string { return strings.Join(l, ",") }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// or is a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
