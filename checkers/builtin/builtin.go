// Package builtin registers the checkers that ship with Faultline. Adding
// one is a folder under checkers and a line here.
package builtin

import (
	"fmt"
	"strconv"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/bank"
	"github.com/faultline/faultline/checkers/elle"
	"github.com/faultline/faultline/checkers/members"
	"github.com/faultline/faultline/checkers/queue"
	"github.com/faultline/faultline/checkers/revisions"
	"github.com/faultline/faultline/checkers/stream"
)

// flag reads a boolean checker option (check.options), false when absent.
func flag(cfg checkers.Config, key string) (bool, error) {
	v, ok := cfg.Options[key]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("check.options.%s %q: want true or false", key, v)
	}
	return b, nil
}

// integer reads an integer checker option, def when absent.
func integer(cfg checkers.Config, key string, def int) (int, error) {
	v, ok := cfg.Options[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("check.options.%s %q: want a positive integer", key, v)
	}
	return n, nil
}

func init() {
	checkers.Register("linearizable", func(cfg checkers.Config) (checkers.Checker, error) {
		return &checkers.Linearizable{Budget: cfg.Budget, MemoryLimit: cfg.MemoryLimit}, nil
	})
	checkers.Register("linearizable-set", func(cfg checkers.Config) (checkers.Checker, error) {
		return &checkers.Linearizable{Model: checkers.Sets, Budget: cfg.Budget, MemoryLimit: cfg.MemoryLimit}, nil
	})
	checkers.Register("stale-reads", func(checkers.Config) (checkers.Checker, error) { return &checkers.StaleReads{}, nil })
	checkers.Register("lost-writes", func(checkers.Config) (checkers.Checker, error) { return &checkers.LostWrites{}, nil })
	checkers.Register(revisions.Name, func(checkers.Config) (checkers.Checker, error) { return &revisions.Checker{}, nil })
	checkers.Register(members.Name, func(checkers.Config) (checkers.Checker, error) { return &members.Checker{}, nil })
	checkers.Register("availability", func(checkers.Config) (checkers.Checker, error) { return &checkers.Availability{}, nil })
	for name, w := range map[string]elle.Workload{"elle-list-append": elle.ListAppend, "elle-rw-register": elle.RWRegister} {
		checkers.Register(name, func(cfg checkers.Config) (checkers.Checker, error) {
			opts := []elle.Option{}
			if m := cfg.Options["consistency"]; m != "" {
				opts = append(opts, elle.WithConsistency(m))
			}
			if v, ok := cfg.Options["writes-follow-reads"]; ok {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, fmt.Errorf("check.options.writes-follow-reads %q: want true or false", v)
				}
				opts = append(opts, elle.WithWritesFollowReads(b))
			}
			if v, ok := cfg.Options["linearizable-keys"]; ok {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, fmt.Errorf("check.options.linearizable-keys %q: want true or false", v)
				}
				opts = append(opts, elle.WithLinearizableKeys(b))
			}
			switch v := cfg.Options["initial-state"]; v {
			case "", "empty":
			case "unknown":
				opts = append(opts, elle.WithUnknownInitialState(true))
			default:
				return nil, fmt.Errorf("check.options.initial-state %q: want empty or unknown", v)
			}
			c, err := elle.New(w, opts...)
			if err != nil {
				return nil, fmt.Errorf("check.consistency: %w", err)
			}
			return c, nil
		})
	}
	checkers.Register(bank.Name, bank.New)
	checkers.Register("queue", func(cfg checkers.Config) (checkers.Checker, error) {
		c := &queue.Checker{}
		var err [3]error
		c.AtLeastOnce, err[0] = flag(cfg, "at-least-once")
		c.Redelivers, err[1] = flag(cfg, "redelivers")
		c.Batch, err[2] = integer(cfg, "batch", 1)
		return c, firstErr(err[:])
	})
	checkers.Register("log", func(cfg checkers.Config) (checkers.Checker, error) {
		c := &stream.Checker{}
		var err [2]error
		c.AtLeastOnce, err[0] = flag(cfg, "at-least-once")
		c.SharedConsumers, err[1] = flag(cfg, "shared-consumers")
		return c, firstErr(err[:])
	})
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
