// Package usersvc is the seed's user microservice as a target: node n1 runs
// PostgreSQL 15 (targets/postgres's start script, primary only), and every
// further node runs a replica of the service (targets/usersvc/server),
// stateless, on n1's database. One image (Debian's postgresql-15 plus the
// service binary built from this tree) serves both roles.
//
// The workload is bank (bench/workload/bank). The client speaks the
// service's REST API; an operation the load aims at n1, the database,
// goes to a service replica instead (round robin), so the history's node is
// the one the load chose, and every operation crosses a service replica.
// n1 is the target's "leader", so kill-follower kills a service replica.
//
// The target option bug=non-transactional runs the service's known bug:
// read-modify-write of the balances outside a transaction.
package usersvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/bank"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/image"
	"github.com/faultline/faultline/targets/postgres"
	"github.com/faultline/faultline/targets/usersvc/server"
)

const (
	port     = 8080
	startBin = "/usr/local/bin/faultline-postgres"
	svcBin   = "/usr/local/bin/usersvc"
	dispatch = "/usr/local/bin/faultline-usersvc"
	pkg      = "github.com/faultline/faultline/targets/usersvc/cmd/usersvc"
)

// dispatchScript starts a node in its role: "db DATADIR PORT" or "svc ARGS".
const dispatchScript = `#!/bin/sh
set -eu
role=$1
shift
case $role in
db) exec ` + startBin + ` primary "$@" ;;
svc) exec setpriv --reuid=nobody --regid=nogroup --clear-groups ` + svcBin + ` "$@" ;;
*) echo "faultline-usersvc: unknown role $role" >&2; exit 2 ;;
esac
`

// Target is the user microservice on PostgreSQL.
type Target struct {
	mode string
	// Dir is a directory of Faultline's module to build the service from
	// (empty: the working directory).
	Dir   string
	roles *roles
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.ImageNeeder  = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
	_ workload.Supporter   = (*Target)(nil)
)

// New returns the target configured by its options: bug (none, or
// non-transactional: the known lost-update bug).
func New(opts map[string]string) (*Target, error) {
	t := &Target{mode: server.Transactional, roles: &roles{of: map[string]role{}}}
	for k, v := range opts {
		switch k {
		case "bug":
			switch v {
			case "none", "":
			case server.NonTransactional:
				t.mode = server.NonTransactional
			default:
				return nil, fmt.Errorf("usersvc: --target-opt bug=%s: want none or non-transactional", v)
			}
		default:
			return nil, fmt.Errorf("usersvc: unknown target option %q (known: bug)", k)
		}
	}
	return t, nil
}

func (*Target) Name() string           { return "usersvc" }
func (*Target) DefaultVersion() string { return "local" }
func (*Target) NeedsImage() bool       { return true }

// Supports: the bank workload's operations.
func (*Target) Supports(f string) bool {
	return f == bank.FInit || f == bank.FTransfer || f == bank.FRead
}

// Ports: one port per node, PostgreSQL's on n1 and the service's on the
// others, so that the load and health checks reach every node the same way.
func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: port}}
}

// Prepare builds the service from this tree and the image (cached by
// content: Debian's postgresql-15, the start scripts and the binary).
func (t *Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version != "" && version != "local" {
		return targets.Artifact{}, fmt.Errorf("usersvc: version %s: the service is built from this source tree only (local)", version)
	}
	path, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: "usersvc", Package: pkg, Dir: t.Dir, CacheDir: opts.CacheDir})
	if err != nil {
		return targets.Artifact{}, err
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return targets.Artifact{}, err
	}
	iopts := []image.Option{
		image.WithName("usersvc"),
		image.WithFile(image.File{Path: startBin, Data: postgres.StartScript(), Mode: 0o755}),
		image.WithFile(image.File{Path: svcBin, Data: bin, Mode: 0o755}),
		image.WithFile(image.File{Path: dispatch, Data: []byte(dispatchScript), Mode: 0o755}),
		image.WithRun("rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main"),
		image.WithEntrypoint(dispatch),
	}
	if opts.Log != nil {
		iopts = append(iopts, image.WithLog(opts.Log))
	}
	ref, err := image.Debian(ctx, []string{"postgresql-15"}, iopts...)
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: gobuild.LocalVersion(path), Image: ref.Tag}, nil
}

// Node: n1 is the database, the others service replicas on it.
func (t *Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	if i == 0 {
		return targets.NodeSpec{Args: []string{"db", self.DataDir, strconv.Itoa(self.Ports[targets.ClientPort]),
			"-c", "deadlock_timeout=100ms"}}
	}
	db := peers[0]
	dsn := fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable&application_name=usersvc-%s",
		db.Host, db.Ports[targets.ClientPort], self.Name)
	return targets.NodeSpec{Args: []string{"svc", "-listen", fmt.Sprintf(":%d", self.Ports[targets.ClientPort]),
		"-db", dsn, "-mode", t.mode}}
}

const askTimeout = 2 * time.Second

// Healthy: a service replica answers /health once its database does; the
// database node answers SQL.
func (t *Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	r, err := t.roles.probe(ctx, hc, base)
	if err != nil {
		return err
	}
	if r == roleDB {
		return pingDB(ctx, base)
	}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("health: %s %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

func pingDB(ctx context.Context, base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+u.Host+"/postgres?sslmode=disable&application_name=faultline")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// Leader is the database node.
func (t *Target) Leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	var errs []error
	for i, b := range bases {
		r, err := t.roles.probe(ctx, hc, b)
		if err == nil && r == roleDB {
			return i, nil
		}
		errs = append(errs, err)
	}
	return -1, fmt.Errorf("usersvc: no node answers as the database: %w", errors.Join(errs...))
}

// Client returns the REST client.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	if cfg.ReadMode != "" {
		return nil, fmt.Errorf("usersvc: --read-mode %s: the service has no read modes (see --target-opt bug)", cfg.ReadMode)
	}
	return &client{roles: t.roles, hc: httpx.NewClient(0)}, nil
}

type role int

const (
	roleUnknown role = iota
	roleService
	roleDB
)

// roles is what was learned of each endpoint: an HTTP answer is a service
// replica; a connection that does not speak HTTP is the database. A
// restarted node comes back at a new endpoint, which is asked again.
type roles struct {
	mu sync.Mutex
	of map[string]role
}

func (r *roles) get(base string) role {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.of[base]
}

func (r *roles) services() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for b, x := range r.of {
		if x == roleService {
			out = append(out, b)
		}
	}
	return out
}

// probe asks base for /health: any HTTP answer is a service; a reply that
// is not HTTP is PostgreSQL. A refused or timed-out connection says
// nothing (error, not remembered).
func (r *roles) probe(ctx context.Context, hc *http.Client, base string) (role, error) {
	if x := r.get(base); x != roleUnknown {
		return x, nil
	}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return roleUnknown, err
	}
	x := roleService
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
	} else if s := err.Error(); strings.Contains(s, "malformed HTTP") || strings.Contains(s, "EOF") && !strings.Contains(s, "refused") {
		// PostgreSQL answers an HTTP request with an error packet (or
		// closes): confirm with SQL before remembering it.
		if perr := pingDB(ctx, base); perr != nil {
			return roleUnknown, fmt.Errorf("%v; as PostgreSQL: %w", err, perr)
		}
		x = roleDB
	} else {
		return roleUnknown, err
	}
	r.mu.Lock()
	r.of[base] = x
	r.mu.Unlock()
	return x, nil
}

// client performs bank operations over the REST API.
type client struct {
	roles *roles
	hc    *http.Client
	rr    atomic.Uint64
}

var (
	_ targets.Client   = (*client)(nil)
	_ targets.Setupper = (*client)(nil)
)

// Setup learns the role of every node (the database and the replicas).
func (c *client) Setup(ctx context.Context, bases []string) error {
	var errs []error
	svc := 0
	for _, b := range bases {
		r, err := c.roles.probe(ctx, c.hc, b)
		if err != nil {
			errs = append(errs, err)
		}
		if r == roleService {
			svc++
		}
	}
	if svc == 0 {
		return fmt.Errorf("usersvc: no service replica answers (a cluster needs 2+ nodes: n1 is the database): %w", errors.Join(errs...))
	}
	return nil
}

// route is the service endpoint that performs an operation aimed at base.
func (c *client) route(ctx context.Context, base string) (string, error) {
	r := c.roles.get(base)
	if r == roleUnknown {
		r, _ = c.roles.probe(ctx, c.hc, base)
	}
	if r != roleDB {
		return base, nil // a service, or not known yet: try it
	}
	svc := c.roles.services()
	if len(svc) == 0 {
		return "", errors.New("no service replica known")
	}
	return svc[c.rr.Add(1)%uint64(len(svc))], nil
}

func (c *client) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	var method, path string
	var body []byte
	switch op.F {
	case bank.FInit:
		var in bank.Init
		if err := json.Unmarshal(op.Data, &in); err != nil {
			return targets.Outcome{Type: history.Fail, Error: "bad init: " + err.Error()}
		}
		body, _ = json.Marshal(map[string]any{"ids": in.Accounts, "balance": in.Balance})
		method, path = http.MethodPost, "/users"
	case bank.FTransfer:
		method, path, body = http.MethodPost, "/transfers", op.Data
	case bank.FRead:
		method, path = http.MethodGet, "/balances"
	default:
		return targets.Outcome{Type: history.Fail, Error: "usersvc: unsupported operation " + op.F}
	}
	to, err := c.route(ctx, base)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, method, to+path+"?op="+strconv.FormatUint(op.ID, 10), bytes.NewReader(body))
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// Refused: nothing was sent. Anything else (a timeout, a reset)
		// may have reached the service: info, except for a read.
		if op.F == bank.FRead || strings.Contains(err.Error(), "connection refused") {
			return targets.Outcome{Type: history.Fail, Error: err.Error()}
		}
		return targets.Outcome{Type: history.Info, Error: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case err != nil && op.F == bank.FRead:
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	case err != nil:
		return targets.Outcome{Type: history.Info, Error: err.Error()}
	case resp.StatusCode == http.StatusOK:
		if op.F != bank.FRead {
			return targets.Outcome{Type: history.OK}
		}
		var bal bank.Balances
		if err := json.Unmarshal(b, &bal); err != nil {
			return targets.Outcome{Type: history.Fail, Error: "undecodable balances: " + err.Error()}
		}
		data, _ := json.Marshal(bal)
		return targets.Outcome{Type: history.OK, Data: data}
	}
	msg := resp.Status + " " + string(bytes.TrimSpace(b[:min(len(b), 200)]))
	// 4xx: the service refused it (insufficient funds, a conflict rolled
	// back, unknown user) before changing anything. 5xx: the database
	// failed somewhere, perhaps after a commit.
	if op.F == bank.FRead || (resp.StatusCode >= 400 && resp.StatusCode < 500) {
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	return targets.Outcome{Type: history.Info, Error: msg}
}
