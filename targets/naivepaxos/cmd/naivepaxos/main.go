// Command naivepaxos is the seed design's "Paxos" taken literally: a node
// appends proposals to its own log and agrees by looking only at that log;
// replication is best-effort and asynchronous. A reference target that must
// fail Faultline's checks.
//
//	naivepaxos --id n1 --http 0.0.0.0:8080 --peers n2:8080,n3:8080
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/faultline/faultline/targets/naivepaxos/node"
)

func main() {
	id := flag.String("id", "", "this node's id")
	httpBind := flag.String("http", "0.0.0.0:8080", "HTTP listen address")
	peers := flag.String("peers", "", "the other nodes' HTTP addresses, host:port,...")
	flag.Parse()
	var ps []string
	for _, p := range strings.Split(*peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	n, err := node.Start(node.Config{ID: *id, Peers: ps, HTTPBind: *httpBind, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "naivepaxos:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	n.Close()
}
