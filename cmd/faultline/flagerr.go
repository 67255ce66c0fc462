package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/faultline/faultline/internal/suggest"
)

// flagError rewrites pflag's errors into one line that names the flag and
// says what it wants: `--nodes: want an integer, got "three"`.
func flagError(cmd *cobra.Command, err error) error {
	var (
		inv *pflag.InvalidValueError
		req *pflag.ValueRequiredError
		nx  *pflag.NotExistError
	)
	switch {
	case errors.As(err, &inv):
		f := inv.GetFlag()
		return fmt.Errorf("--%s: want %s, got %q", f.Name, want(f, inv.Unwrap()), inv.GetValue())
	case errors.As(err, &req):
		f := req.GetFlag()
		return fmt.Errorf("--%s: needs a value (%s)", f.Name, want(f, nil))
	case errors.As(err, &nx):
		name := nx.GetSpecifiedName()
		if short := nx.GetSpecifiedShortnames(); short != "" {
			return fmt.Errorf("unknown flag -%s for %q%s", short, cmd.CommandPath(), helpHint(cmd))
		}
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		hint := helpHint(cmd)
		if c := suggest.Closest(name, names); c != "" {
			hint = fmt.Sprintf(" (did you mean --%s?)", c)
		}
		return fmt.Errorf("unknown flag --%s for %q%s", name, cmd.CommandPath(), hint)
	}
	return err
}

func helpHint(cmd *cobra.Command) string {
	return fmt.Sprintf(" (%s --help lists them)", cmd.CommandPath())
}

// want says what a flag's value must look like.
func want(f *pflag.Flag, cause error) string {
	if cause != nil {
		if msg := cause.Error(); strings.HasPrefix(msg, "want ") {
			return strings.TrimPrefix(msg, "want ")
		}
	}
	switch f.Value.Type() {
	case "int", "int64":
		return "an integer"
	case "uint", "uint64":
		return "a non-negative integer"
	case "bool":
		return "true or false"
	case "duration":
		return "a duration like 30s"
	case "float64":
		return "a number"
	}
	return "a " + f.Value.Type()
}
