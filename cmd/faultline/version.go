package main

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline"
)

// version is set by the release build (-ldflags "-X main.version=v1.2.3");
// otherwise the module's build info says what was built.
var version = ""

func versionString() string {
	v, rev := version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	s := "faultline " + v
	if rev != "" {
		s += " " + rev
	}
	return s + " " + goruntime.Version() + " " + goruntime.GOOS + "/" + goruntime.GOARCH
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print the version of faultline and of the Go it was built with",
		Example: `  faultline version`,
		Args:    noArgs(""),
		RunE: a.do(func(*cobra.Command, []string) int {
			fmt.Fprintln(a.stdout, versionString())
			return faultline.ExitPass
		}),
	}
}
