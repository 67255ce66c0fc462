// Command raftkv is a replicated key-value server (hashicorp/raft) speaking
// the kvapi protocol; it is one of Faultline's reference targets.
//
//	raftkv --id n1 --peers n1=n1:7000:8080,n2=n2:7000:8080,n3=n3:7000:8080 \
//	       --raft 0.0.0.0:7000 --http 0.0.0.0:8080 --data /data [--bug stale-reads]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/targets/raftkv/node"
)

func main() {
	id := flag.String("id", "", "this node's id (one of --peers)")
	peers := flag.String("peers", "", "all members: id=host:raftport:httpport,...")
	raftBind := flag.String("raft", "0.0.0.0:7000", "raft listen address")
	httpBind := flag.String("http", "0.0.0.0:8080", "HTTP listen address")
	data := flag.String("data", "data", "data directory (kept across restarts)")
	bug := flag.String("bug", "", "run with a known bug: stale-reads, ack-before-commit, non-atomic-cas, non-atomic-txn, no-fsync, lease-reads")
	flag.Parse()
	ps, err := node.ParsePeers(*peers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raftkv:", err)
		os.Exit(2)
	}
	n, err := node.Start(node.Config{ID: *id, Peers: ps, DataDir: *data, RaftBind: *raftBind, HTTPBind: *httpBind, Bug: *bug})
	if err != nil {
		fmt.Fprintln(os.Stderr, "raftkv:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if err := n.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "raftkv: close:", err)
	}
}
