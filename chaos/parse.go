package chaos

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/registry"
)

// Options tune the faults that take numbers.
type Options struct {
	// LossPercent is the share of packets the loss fault drops.
	LossPercent int
	// Delay and Jitter shape the delay fault.
	Delay, Jitter time.Duration
}

// DefaultOptions are the numbers used when none are given.
func DefaultOptions() Options {
	return Options{LossPercent: 30, Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}
}

// Params are what one fault is made from: the run-wide numbers (--loss-percent,
// --delay, --jitter) and the fault's own parameters, written after its name
// in --nemesis and timelines: "loss:percent=10" gives Args {"percent": "10"}.
// A factory reads what it knows with the getters and ends with Done, so a
// parameter it does not know is refused in one line naming it.
type Params struct {
	Name    string
	Options Options
	Args    map[string]string
	used    map[string]bool
}

// String returns the parameter key, or def when it is not given.
func (p *Params) String(key, def string) string {
	if v, ok := p.Args[key]; ok {
		p.mark(key)
		return v
	}
	return def
}

// Int returns the integer parameter key, or def.
func (p *Params) Int(key string, def int) (int, error) {
	v, ok := p.Args[key]
	if !ok {
		return def, nil
	}
	p.mark(key)
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || fmt.Sprint(n) != v {
		return 0, fmt.Errorf("--nemesis %s:%s=%s: want an integer", p.Name, key, v)
	}
	return n, nil
}

// Duration returns the duration parameter key (a Go duration, or a number of
// milliseconds), or def.
func (p *Params) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := p.Args[key]
	if !ok {
		return def, nil
	}
	p.mark(key)
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	var ms float64
	if _, err := fmt.Sscanf(v, "%g", &ms); err == nil && fmt.Sprint(ms) == v {
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	return 0, fmt.Errorf("--nemesis %s:%s=%s: want a duration such as 50ms", p.Name, key, v)
}

func (p *Params) mark(key string) {
	if p.used == nil {
		p.used = map[string]bool{}
	}
	p.used[key] = true
}

// Done refuses the parameters no getter asked for.
func (p *Params) Done() error {
	var unknown []string
	for k := range p.Args {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("--nemesis %s: unknown parameter %q", p.Name, unknown[0])
}

// Factory makes a fault from its parameters.
type Factory func(p *Params) (Fault, error)

// The catalogue is the only mutable global of the package: faults register
// at init (builtin.go, one line each) or from a caller's own package.
var catalogue = registry.New[entry]("fault")

type entry struct {
	help string
	make Factory
}

// Register adds a fault to the catalogue under name (what --nemesis and
// timelines use). Registering a name twice panics.
func Register(name, help string, f Factory) { catalogue.Register(name, entry{help, f}) }

// simple registers a fault that takes no parameters of its own.
func simple(name, help string, f func(o Options) Fault) {
	Register(name, help, func(p *Params) (Fault, error) {
		if err := p.Done(); err != nil {
			return nil, err
		}
		return f(p.Options), nil
	})
}

// Names lists every fault name, sorted.
func Names() []string { return catalogue.Names() }

// Help describes every fault, one per line.
func Help() string {
	var b strings.Builder
	for _, n := range Names() {
		e, _ := catalogue.Get(n)
		fmt.Fprintf(&b, "%-24s %s\n", n, e.help)
	}
	return b.String()
}

// SplitSpec splits "name:k=v,k=v" into the name and its parameters.
func SplitSpec(spec string) (string, map[string]string, error) {
	name, rest, has := strings.Cut(strings.TrimSpace(spec), ":")
	if !has {
		return name, nil, nil
	}
	args := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return name, nil, fmt.Errorf("--nemesis %s: parameter %q: want key=value", spec, part)
		}
		if _, dup := args[k]; dup {
			return name, nil, fmt.Errorf("--nemesis %s: parameter %s given twice", spec, k)
		}
		args[k] = v
	}
	return name, args, nil
}

// Lookup returns the fault a --nemesis entry names ("kill", "loss:percent=10").
func Lookup(spec string, o Options) (Fault, error) {
	name, args, err := SplitSpec(spec)
	if err != nil {
		return nil, err
	}
	c, ok := catalogue.Get(name)
	if !ok {
		return nil, fmt.Errorf("unknown nemesis %q (known: none, %s)", name, strings.Join(Names(), ", "))
	}
	return c.make(&Params{Name: name, Options: o, Args: args})
}

// Validate refuses options no fault can use.
func (o Options) Validate() error {
	if o.LossPercent < 1 || o.LossPercent > 100 {
		return fmt.Errorf("--loss-percent %d: want 1 to 100", o.LossPercent)
	}
	if o.Delay <= 0 || o.Jitter < 0 {
		return fmt.Errorf("--delay %v --jitter %v: want a positive delay and a jitter not below zero", o.Delay, o.Jitter)
	}
	return nil
}

// Parse turns a --nemesis list into faults. "none" or "" means no fault.
func Parse(names []string, o Options) ([]Fault, error) {
	var out []Fault
	var errs []error
	for _, n := range names {
		if n == "" || n == "none" {
			continue
		}
		f, err := Lookup(n, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}
