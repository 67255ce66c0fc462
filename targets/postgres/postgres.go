// Package postgres is the PostgreSQL 15 target: Debian's postgresql-15
// package in an image built FROM the debootstrapped base (targets/image),
// run by the docker runtime only. Node n1 is the primary; every further node
// is an asynchronous streaming replica made from n1 with pg_basebackup on
// its first start. The client (pgx v5) performs the list-append and
// rw-register transactions of bench/workload/txn, each as one SQL
// transaction at the isolation level the target option names.
package postgres

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/image"
)

// identRE is a schema name that needs no quoting.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Version is the PostgreSQL major version Debian bookworm packages.
const Version = "15"

const (
	clientPort = 5432
	bin        = "/usr/local/bin/faultline-postgres"
)

// Isolation levels (target option isolation).
const (
	ReadCommitted  = "read-committed"
	RepeatableRead = "repeatable-read"
	Serializable   = "serializable"
)

//go:embed entrypoint.sh
var entrypoint []byte

// Target is PostgreSQL.
type Target struct {
	iso          pgx.TxIsoLevel
	replicaReads bool
	// schema holds the workload's tables (search_path), for a target
	// described by a scenario (targets/spec) whose database has others.
	schema string
	roles  *roles
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
	_ targets.ImageNeeder  = (*Target)(nil)
	_ workload.Supporter   = (*Target)(nil)
)

// New returns the target configured by its options: isolation
// (read-committed, repeatable-read, serializable; default serializable) and
// replica-reads (true sends read-only transactions to a replica: the known
// stale configuration, since replication is asynchronous) and schema (the
// PostgreSQL schema the workload's tables live in, created by Setup;
// default public).
func New(opts map[string]string) (*Target, error) {
	t := &Target{iso: pgx.Serializable, roles: newRoles()}
	for k, v := range opts {
		switch k {
		case "isolation":
			switch v {
			case ReadCommitted:
				t.iso = pgx.ReadCommitted
			case RepeatableRead:
				t.iso = pgx.RepeatableRead
			case Serializable:
				t.iso = pgx.Serializable
			default:
				return nil, fmt.Errorf("postgres: --target-opt isolation=%s: want read-committed, repeatable-read or serializable", v)
			}
		case "replica-reads":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("postgres: --target-opt replica-reads=%s: want true or false", v)
			}
			t.replicaReads = b
		case "schema":
			if !identRE.MatchString(v) {
				return nil, fmt.Errorf("postgres: --target-opt schema=%s: want a lower-case SQL identifier", v)
			}
			t.schema = v
		default:
			return nil, fmt.Errorf("postgres: unknown target option %q (known: isolation, replica-reads, schema)", k)
		}
	}
	return t, nil
}

func (*Target) Name() string           { return "postgres" }
func (*Target) DefaultVersion() string { return Version }

// NeedsImage: nodes run from a Debian image, which the local runtime cannot
// run.
func (*Target) NeedsImage() bool { return true }

// Supports: the client performs transactions only.
func (*Target) Supports(f string) bool { return f == fTxn }

func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: clientPort}}
}

// Prepare builds (once; cached by content) the image of Debian's
// postgresql-15 with the start script.
func (*Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version != "" && version != Version {
		return targets.Artifact{}, fmt.Errorf("postgres: version %s: only %s is available (Debian bookworm's postgresql-%s)", version, Version, Version)
	}
	iopts := []image.Option{
		image.WithName("postgres-15"),
		image.WithFile(image.File{Path: bin, Data: entrypoint, Mode: 0o755}),
		// The package's postinst makes a cluster of its own in
		// /var/lib/postgresql; nodes make theirs in their data directory.
		image.WithRun("rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main"),
		image.WithEntrypoint(bin),
	}
	if opts.Log != nil {
		iopts = append(iopts, image.WithLog(opts.Log))
	}
	ref, err := image.Debian(ctx, []string{"postgresql-15"}, iopts...)
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: Version, Image: ref.Tag}, nil
}

// settings are server settings beyond the start script's (fsync on,
// streaming replication). A deadlock is detected after 100 ms rather than
// PostgreSQL's 1 s: under contention (read committed, where row locks are
// waited for) a second per deadlock stalls every transaction queued behind
// it, and the run measures time-outs instead of the isolation level.
var settings = []string{"-c", "deadlock_timeout=100ms"}

// Node: n1 is the primary; the others are replicas of n1.
func (*Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	port := strconv.Itoa(self.Ports[targets.ClientPort])
	args := []string{"primary", self.DataDir, port}
	if i > 0 {
		p := peers[0]
		args = []string{"replica", self.DataDir, port, p.Host, strconv.Itoa(p.Ports[targets.ClientPort])}
	}
	return targets.NodeSpec{Args: append(args, settings...)}
}

// connString is the pgx connection string of the node whose client
// endpoint is base (scheme://host:port, as the runtime forms it).
func connString(base string) (string, error) {
	hostport := base
	if strings.Contains(base, "://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("postgres: endpoint %q: %w", base, err)
		}
		hostport = u.Host
	}
	if hostport == "" {
		return "", fmt.Errorf("postgres: endpoint %q has no host:port", base)
	}
	return "postgres://postgres@" + hostport + "/postgres?sslmode=disable&application_name=faultline", nil
}

// Healthy: the node accepts a connection and answers SELECT 1 (a replica
// does so once it reached a consistent state).
func (*Target) Healthy(ctx context.Context, _ *http.Client, base string) error {
	cs, err := connString(base)
	if err != nil {
		return err
	}
	// One attempt is short: the runtime asks again until its health timeout.
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// Leader is the node that answers as primary (pg_is_in_recovery() false):
// n1, as nothing here promotes a replica.
func (*Target) Leader(ctx context.Context, _ *http.Client, bases []string) (int, error) {
	answers, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (bool, error) {
		cs, err := connString(b)
		if err != nil {
			return false, err
		}
		ctx, cancel := context.WithTimeout(ctx, askTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			return false, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var rec bool
		err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&rec)
		return rec, err
	})
	for i, rec := range answers {
		if errs[i] == nil && !rec {
			return i, nil
		}
	}
	return -1, fmt.Errorf("postgres: no node answers as primary: %w", errors.Join(errs...))
}

// Client returns the transaction client. The final phase's client reads
// from the primary whatever replica-reads says.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	if cfg.ReadMode != "" {
		return nil, fmt.Errorf("postgres: --read-mode %s: postgres has no read modes (see --target-opt isolation, replica-reads)", cfg.ReadMode)
	}
	c := newClient(t.iso, t.replicaReads && !cfg.Final, t.roles)
	c.schema = t.schema
	return c, nil
}

// roleTimeout bounds asking a node whether it is the primary from the
// client; askTimeout one health or leader question.
const (
	roleTimeout = 5 * time.Second
	askTimeout  = 2 * time.Second
)

// StartScript is the node start script of the image (primary or replica),
// for images that run a PostgreSQL node next to something else
// (targets/usersvc).
func StartScript() []byte { return entrypoint }
