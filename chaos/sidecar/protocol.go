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
	// Op is apply, clear, installed, probe-netem, probe-queue, shape or
	// unshape.
	Op    string                 `json:"op"`
	Rules *netfault.Rules        `json:"rules,omitempty"`
	Shape *netfault.ShapeRequest `json:"shape,omitempty"`
}

// Response is the agent's answer, one line per request; the agent also sends
// one when it is ready.
type Response struct {
	OK        bool `json:"ok"`
	Installed bool `json:"installed,omitempty"`
	NoNetem   bool `json:"no_netem,omitempty"`
	NoQueue   bool `json:"no_queue,omitempty"`
	// Summary is what a shaper did (unshape).
	Summary string `json:"summary,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Serve answers requests from r on w, acting on the namespace the process is
// in, until r ends; then it removes every rule and stops its packet shaper,
// so that a harness that dies leaves no fault behind.
func Serve(r io.Reader, w io.Writer) error {
	enc := json.NewEncoder(w)
	dec := json.NewDecoder(r)
	if err := enc.Encode(Response{OK: true}); err != nil {
		return err
	}
	a := &agent{}
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			cerr := a.clear()
			if errors.Is(err, io.EOF) {
				return cerr
			}
			return errors.Join(err, cerr)
		}
		if err := enc.Encode(a.handle(req)); err != nil {
			return errors.Join(err, a.clear())
		}
	}
}

// agent is the state of one agent: the packet shaper it runs, if any.
type agent struct {
	shaper *netfault.Shaper
}

// clear removes the rules, then stops the shaper (which passes what it
// still holds) and says what it did.
func (a *agent) clear() error {
	_, err := a.unshape()
	return err
}

func (a *agent) unshape() (string, error) {
	err := netfault.Clear("")
	if a.shaper == nil {
		return "", err
	}
	s := a.shaper.Stop()
	a.shaper = nil
	return s, err
}

func (a *agent) handle(req Request) Response {
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
		err = a.clear()
	case "shape":
		if req.Shape == nil {
			err = errors.New("shape: no request")
			break
		}
		if a.shaper != nil {
			a.shaper.Stop()
		}
		a.shaper, err = netfault.StartShaper("", *req.Shape)
	case "unshape":
		res.Summary, err = a.unshape()
	case "probe-queue":
		err = netfault.ProbeQueue("")
		res.NoQueue = errors.Is(err, netfault.ErrNoQueue)
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
