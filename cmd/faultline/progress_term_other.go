//go:build !linux

package main

import "io"

// terminalWidth: the progress line is drawn on Linux terminals only.
func terminalWidth(io.Writer) (bool, int) { return false, 0 }
