// Package builtin registers the checkers that ship with Faultline. Adding
// one is a folder under checkers and a line here.
package builtin

import "github.com/faultline/faultline/checkers"

func init() {
	checkers.Register("linearizable", func(cfg checkers.Config) (checkers.Checker, error) {
		return &checkers.Linearizable{Budget: cfg.Budget, MemoryLimit: cfg.MemoryLimit}, nil
	})
	checkers.Register("stale-reads", func(checkers.Config) (checkers.Checker, error) { return &checkers.StaleReads{}, nil })
	checkers.Register("lost-writes", func(checkers.Config) (checkers.Checker, error) { return &checkers.LostWrites{}, nil })
	checkers.Register("availability", func(checkers.Config) (checkers.Checker, error) { return &checkers.Availability{}, nil })
}
