package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// cliDocs renders the reference page of every command (docs/cli/*.md):
// what `--help` says, so the two cannot differ. TestCLIDocs keeps the
// checked-in pages current.
func cliDocs(root *cobra.Command) map[string]string {
	root.InitDefaultHelpCmd()
	root.InitDefaultHelpFlag()
	pages := map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c != root {
			return
		}
		c.InitDefaultHelpFlag()
		var b strings.Builder
		fmt.Fprintf(&b, "# %s\n\n", c.CommandPath())
		fmt.Fprintf(&b, "%s\n\n", c.Short)
		if c.Long != "" {
			fmt.Fprintf(&b, "%s\n\n", c.Long)
		}
		fmt.Fprintf(&b, "```\n%s```\n", usageText(c))
		var subs []string
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() {
				subs = append(subs, fmt.Sprintf("- [%s](%s) — %s", s.CommandPath(), docName(s), s.Short))
			}
		}
		if len(subs) > 0 {
			fmt.Fprintf(&b, "\n## Commands\n\n%s\n", strings.Join(subs, "\n"))
		}
		if c.HasParent() {
			fmt.Fprintf(&b, "\nSee also: [%s](%s)\n", c.Parent().CommandPath(), docName(c.Parent()))
		}
		pages[docName(c)] = b.String()
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return pages
}

func docName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

// writeCLIDocs writes the pages into dir, removing pages of commands that
// are gone.
func writeCLIDocs(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pages := cliDocs(root)
	old, _ := filepath.Glob(filepath.Join(dir, "faultline*.md"))
	for _, p := range old {
		if _, ok := pages[filepath.Base(p)]; !ok {
			os.Remove(p)
		}
	}
	for name, body := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
