// Command agent is Faultline's network sidecar: run in a container that
// shares a node's network namespace, with NET_ADMIN, it installs and removes
// the faults the harness asks for on stdin (see package sidecar).
package main

import (
	"fmt"
	"os"

	"github.com/faultline/faultline/chaos/sidecar"
)

func main() {
	if err := sidecar.Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "faultline-agent:", err)
		os.Exit(1)
	}
}
