package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
)

// Failpoint arms a failpoint of a target built with them (etcd's gofail)
// on one node, chosen: PUT action to the node's failpoint endpoint
// ("panic", "sleep(100)", "1*panic"...). Healing disables it (DELETE); a
// node the failpoint crashed is restarted with its data.
func Failpoint(name, action string, c Choice) Fault {
	return &failpoint{name: name, action: action, choose: c}
}

type failpoint struct {
	name, action string
	choose       Choice
}

func (f *failpoint) Kind() string { return "failpoint" }
func (f *failpoint) Needs() Needs { return Needs{Nodes: 1, Failpoint: f.name} }

func (f *failpoint) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	ft, ok := env.Target.(targets.Failpointed)
	if !ok || ft.FailpointPort() == "" {
		return nil, fmt.Errorf("failpoint %s: target %s was not built with failpoints", f.name, env.Target.Name())
	}
	i, why := pick(ctx, env, rnd, f.choose)
	node := env.Nodes[i]
	url := node.Endpoint(ft.FailpointPort()) + "/" + f.name
	crashes := strings.Contains(f.action, "panic")
	if crashes {
		env.mark(&env.killed, i, true) // HealAll restarts it, whatever happens
	}
	start := time.Now()
	if err := failpointRequest(ctx, http.MethodPut, url, f.action); err != nil {
		if crashes {
			env.mark(&env.killed, i, false)
		}
		return nil, fmt.Errorf("failpoint %s on %s: %w", f.name, node.Name(), err)
	}
	took := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: "failpoint", Nodes: []string{node.Name()}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("failpoint %s=%s armed on %s (%s) in %v; disabled when healed", f.name, f.action, node.Name(), why, took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) {
			err := failpointRequest(ctx, http.MethodDelete, url, "")
			if err == nil {
				if crashes {
					env.mark(&env.killed, i, false)
				}
				return "disabled " + f.name + " on " + node.Name(), nil
			}
			// The failpoint fired and took the node down: restart it (its
			// failpoints start disabled).
			_ = node.Kill(ctx)
			detail, serr := startNodes(ctx, env, []int{i})
			return f.name + " fired on " + node.Name() + "; " + detail, serr
		},
	}, nil
}

func failpointRequest(ctx context.Context, method, url, body string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := httpx.NewClient(0).Do(req) // no proxy, no redirect
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

func registerFailpoints() {
	Register("failpoint", "arm a failpoint of a target built with them (etcd: --target-opt failpoints=true) on a random node, disable it when healed; failpoint:name=raftBeforeSave,action=panic,node=random|leader|follower",
		func(p *Params) (Fault, error) {
			name := p.String("name", "")
			if name == "" {
				return nil, fmt.Errorf("--nemesis failpoint: name= is required (e.g. failpoint:name=raftBeforeSave,action=panic)")
			}
			action := p.String("action", "panic")
			var c Choice
			switch n := p.String("node", "random"); n {
			case "random":
				c = ChooseRandom
			case "leader":
				c = ChooseLeader
			case "follower":
				c = ChooseFollower
			default:
				return nil, fmt.Errorf("--nemesis failpoint:node=%s: want random, leader or follower", n)
			}
			return Failpoint(name, action, c), p.Done()
		})
}
