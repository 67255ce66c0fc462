package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline"
)

// completionCmd prints a shell's completion script (cobra writes them).
func (a *app) completionCmd(root *cobra.Command) *cobra.Command {
	var noDesc bool
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "print the shell completion script for bash, zsh or fish",
		Long: `Print the completion script for bash, zsh or fish. Load it for this shell, or
install it where the shell looks for completions.`,
		Example: `  source <(faultline completion bash)
  faultline completion zsh > "${fpath[1]}/_faultline"
  faultline completion fish > ~/.config/fish/completions/faultline.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh" && args[0] != "fish") {
				got := "nothing"
				if len(args) > 0 {
					got = fmt.Sprintf("%q", args[0])
				}
				return fmt.Errorf("completion wants one shell: bash, zsh or fish (got %s)", got)
			}
			return nil
		},
		RunE: a.do(func(_ *cobra.Command, args []string) int {
			var err error
			switch args[0] {
			case "bash":
				err = root.GenBashCompletionV2(a.stdout, !noDesc)
			case "zsh":
				if noDesc {
					err = root.GenZshCompletionNoDesc(a.stdout)
				} else {
					err = root.GenZshCompletion(a.stdout)
				}
			case "fish":
				err = root.GenFishCompletion(a.stdout, !noDesc)
			}
			if err != nil {
				fmt.Fprintf(a.stderr, "faultline: %v\n", err)
				return faultline.ExitInfra
			}
			return faultline.ExitPass
		}),
	}
	cmd.Flags().BoolVar(&noDesc, "no-descriptions", false, "leave the descriptions out of the completions")
	return cmd
}
