// Package bank is the bank workload (Jepsen's bank test): a few accounts
// opened with the same balance, transfers of random amounts between two of
// them, and reads of every balance at once. Whatever happens to the
// transfers, the total never changes and no balance goes negative; the bank
// checker (checkers/bank) holds every ok read to that.
//
// Operations (the value is Event.Data):
//
//	init     {"accounts":["a0","a1",...],"balance":20}   open every account (idempotent)
//	transfer {"from":"a1","to":"a3","amount":4}           refused (fail) when from has less
//	read     null, completed with {"a0":20,"a1":17,...}   every balance, one snapshot
//
// The generator issues init until one is acknowledged (reads meanwhile),
// so the history itself says which accounts exist and what they hold.
package bank

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/history"
)

// Name is what load.workload selects; CheckerName the checker it asks for.
const (
	Name        = "bank"
	CheckerName = "bank"
)

// Operation functions.
const (
	FInit     = "init"
	FTransfer = "transfer"
	FRead     = "read"
)

// Defaults of the workload options.
const (
	DefaultAccounts    = 5
	DefaultBalance     = 20
	DefaultMaxTransfer = 5
)

// Init is the value of an init operation.
type Init struct {
	Accounts []string `json:"accounts"`
	Balance  int64    `json:"balance"`
}

// Transfer is the value of a transfer operation.
type Transfer struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

// Balances is what a read returns: account -> balance.
type Balances map[string]int64

// Workload is the bank workload.
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Finisher = Workload{}
)

func (Workload) Name() string { return Name }

// Config is the workload's own settings.
type Config struct {
	Accounts    int
	Balance     int64
	MaxTransfer int64
	// ReadPct is the share of reads, in percent (--mix read:N,transfer:M).
	ReadPct int
}

// Parse reads the workload options (accounts, balance, max-transfer) and
// the mix.
func Parse(cfg workload.Config) (Config, error) {
	c := Config{Accounts: DefaultAccounts, Balance: DefaultBalance, MaxTransfer: DefaultMaxTransfer, ReadPct: 50}
	for k, v := range cfg.Options {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return c, fmt.Errorf("load.workload_options.%s %q: want a positive integer", k, v)
		}
		switch k {
		case "accounts":
			if n < 2 || n > 1000 {
				return c, fmt.Errorf("load.workload_options.accounts %q: want 2..1000", v)
			}
			c.Accounts = int(n)
		case "balance":
			c.Balance = n
		case "max-transfer":
			c.MaxTransfer = n
		default:
			return c, fmt.Errorf("load.workload_options: %s has no option %q (known: accounts, balance, max-transfer)", Name, k)
		}
	}
	// The scenario's default mix is the register workload's: not a choice.
	if cfg.Mix != "" && cfg.Mix != register.DefaultMix().String() {
		w := map[string]int{}
		for _, part := range strings.Split(cfg.Mix, ",") {
			f, n, ok := strings.Cut(strings.TrimSpace(part), ":")
			x, err := strconv.Atoi(n)
			if !ok || err != nil || x < 0 || (f != FRead && f != FTransfer) {
				return c, fmt.Errorf("load.mix %q: want read:N,transfer:M", cfg.Mix)
			}
			w[f] = x
		}
		if w[FRead]+w[FTransfer] == 0 {
			return c, fmt.Errorf("load.mix %q: weights sum to 0", cfg.Mix)
		}
		c.ReadPct = 100 * w[FRead] / (w[FRead] + w[FTransfer])
	}
	return c, nil
}

// New returns the seeded generator.
func (Workload) New(cfg workload.Config) (workload.Generator, error) {
	c, err := Parse(cfg)
	if err != nil {
		return nil, err
	}
	g := &generator{cfg: c, rnd: rand.New(rand.NewPCG(cfg.Seed, 0xba4c))}
	for i := range c.Accounts {
		g.accounts = append(g.accounts, "a"+strconv.Itoa(i))
	}
	g.init, _ = json.Marshal(Init{Accounts: g.accounts, Balance: c.Balance})
	return g, nil
}

func (Workload) Ops(workload.Config) ([]string, error) {
	return []string{FInit, FTransfer, FRead}, nil
}

func (Workload) Checkers(workload.Config) []string { return []string{CheckerName} }

// Final reads every balance once the cluster is healed and quiet.
func (Workload) Final(ctx context.Context, _ workload.Generator, env workload.FinalEnv) workload.FinalStats {
	return workload.ReadBack(ctx, env, 1, func(int) history.Event { return history.Event{F: FRead} })
}

type generator struct {
	cfg      Config
	accounts []string
	init     json.RawMessage

	mu           sync.Mutex
	rnd          *rand.Rand
	opened       bool // an init was acknowledged
	initInFlight bool
}

// Next: init until one is acknowledged (one at a time), then reads and
// transfers in the mix.
func (g *generator) Next(op *history.Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	op.Key, op.Value, op.From = "", "", ""
	if !g.opened && !g.initInFlight {
		g.initInFlight = true
		op.F, op.Data = FInit, g.init
		return
	}
	if !g.opened || g.rnd.IntN(100) < g.cfg.ReadPct {
		op.F, op.Data = FRead, nil
		return
	}
	from := g.rnd.IntN(len(g.accounts))
	to := g.rnd.IntN(len(g.accounts) - 1)
	if to >= from {
		to++
	}
	t := Transfer{From: g.accounts[from], To: g.accounts[to], Amount: 1 + g.rnd.Int64N(g.cfg.MaxTransfer)}
	op.F = FTransfer
	op.Data = json.RawMessage(`{"from":"` + t.From + `","to":"` + t.To + `","amount":` + strconv.FormatInt(t.Amount, 10) + `}`)
}

func (g *generator) Done(done *history.Event) {
	if done.F != FInit {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.initInFlight = false
	if done.Type == history.OK {
		g.opened = true
	}
}
