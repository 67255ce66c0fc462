package main

import "github.com/spf13/cobra"

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{Use: "serve RUN_DIR", Short: "serve a run directory's live report over HTTP", Hidden: true, Args: cobra.ExactArgs(1)}
}
