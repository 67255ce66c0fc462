package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageFunc prints a command's usage with its flags grouped by concern
// (scenario, cluster, load, faults, checks, output), then its examples.
func usageFunc(c *cobra.Command) error {
	fmt.Fprint(c.OutOrStderr(), usageText(c))
	return nil
}

func usageText(c *cobra.Command) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	if c.Runnable() && c.HasParent() {
		fmt.Fprintf(&b, "  %s\n", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "  %s <command> [flags]\n", c.CommandPath())
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\nCommands:\n")
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() || s.Name() == "help" {
				fmt.Fprintf(&b, "  %-11s %s\n", s.Name(), s.Short)
			}
		}
	}
	groups := map[string]*pflag.FlagSet{}
	other := pflag.NewFlagSet("other", pflag.ContinueOnError)
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := ""
		if a := f.Annotations[groupAnnotation]; len(a) > 0 {
			g = a[0]
		}
		if g == "" {
			other.AddFlag(f)
			return
		}
		if groups[g] == nil {
			groups[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
		}
		groups[g].AddFlag(f)
	})
	for _, g := range groupOrder {
		if fs := groups[g]; fs != nil {
			fmt.Fprintf(&b, "\n%s%s flags:\n%s", strings.ToUpper(g[:1]), g[1:], fs.FlagUsages())
		}
	}
	if other.HasFlags() {
		title := "Flags"
		if len(groups) > 0 {
			title = "Other flags"
		}
		fmt.Fprintf(&b, "\n%s:\n%s", title, other.FlagUsages())
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", c.Example)
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\nRun \"%s <command> --help\" for the flags of a command.\n", c.CommandPath())
	}
	return b.String()
}
