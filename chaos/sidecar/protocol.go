// Package sidecar installs network faults without root on the Docker host: a
// small container (the agent, built from this module) joins a node's network
// namespace (network mode container:<node>) with NET_ADMIN, and runs the same
// netfault code inside it. The harness talks to each agent over the
// container's attached stdin and stdout, one JSON line per request, so nothing
// needs a port, a mount, or a registry.
package sidecar

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/faultline/faultline/chaos/netfault"
)

// Request is one line the harness sends an agent.
type Request struct {
	// Op is apply, clear, installed or probe-netem.
	Op    string          `json:"op"`
	Rules *netfault.Rules `json:"rules,omitempty"`
}

// Response is the agent's answer, one line per request; the agent also sends
// one when it is ready.
type Response struct {
	OK        bool   `json:"ok"`
	Installed bool   `json:"installed,omitempty"`
	NoNetem   bool   `json:"no_netem,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Serve answers requests from r on w, acting on the namespace the process is
// in, until r ends; then it removes every rule, so that a harness that dies
// leaves no fault behind.
func Serve(r io.Reader, w io.Writer) error {
	enc := json.NewEncoder(w)
	dec := json.NewDecoder(r)
	if err := enc.Encode(Response{OK: true}); err != nil {
		return err
	}
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			cerr := netfault.Clear("")
			if errors.Is(err, io.EOF) {
				return cerr
			}
			return errors.Join(err, cerr)
		}
		if err := enc.Encode(handle(req)); err != nil {
			return errors.Join(err, netfault.Clear(""))
		}
	}
}

func handle(req Request) Response {
	var err error
	var res Response
	switch req.Op {
	case "apply":
		if req.Rules == nil {
			err = errors.New("apply: no rules")
			break
		}
		err = netfault.Apply("", *req.Rules)
	case "clear":
		err = netfault.Clear("")
	case "installed":
		res.Installed, err = netfault.Installed("")
	case "probe-netem":
		err = netfault.ProbeNetem("")
		res.NoNetem = errors.Is(err, netfault.ErrNoNetem)
	default:
		err = errors.New("unknown op " + req.Op)
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.OK = true
	return res
}
