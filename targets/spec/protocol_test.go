package spec_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/spec"
)

const redisExample = "../../examples/redis-debian.yaml"

func loadRedisExample(t *testing.T) scenario.Scenario {
	t.Helper()
	sc := scenario.Default()
	if _, err := scenario.LoadFile(redisExample, &sc); err != nil {
		t.Fatalf("load %s: %v", redisExample, err)
	}
	return sc
}

// clone copies the maps a test mutates, so that cases do not share them.
func clone(s spec.Spec) spec.Spec {
	s.Options = maps.Clone(s.Options)
	s.Ports = maps.Clone(s.Ports)
	if s.Client != nil {
		c := *s.Client
		c.Options = maps.Clone(c.Options)
		s.Client = &c
	}
	return s
}

// The Redis example is a whole scenario: a debian source, the redis
// protocol client, health and leader by the protocol, register operations.
func TestRedisExample(t *testing.T) {
	sc := loadRedisExample(t)
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	tg, err := sc.Cluster.LookupTarget()
	if err != nil {
		t.Fatal(err)
	}
	st := tg.(*spec.Target)
	if st.Name() != "redis-debian" || st.DefaultVersion() != spec.DebianVersion || !st.NeedsImage() {
		t.Errorf("name %q version %q needs image %v", st.Name(), st.DefaultVersion(), st.NeedsImage())
	}
	for _, f := range []string{history.FRead, history.FWrite, history.FCAS} {
		if !st.Supports(f) {
			t.Errorf("does not support %s", f)
		}
	}
	if st.Supports("txn") || st.HealthPort() != targets.ClientPort {
		t.Errorf("supports txn %v, health port %q", st.Supports("txn"), st.HealthPort())
	}
	peers := func(n int) []targets.Peer {
		ps := make([]targets.Peer, n)
		for i := range ps {
			ps[i] = targets.Peer{Name: "n" + string(rune('1'+i)), Host: "n" + string(rune('1'+i)), DataDir: "/data", Ports: map[string]int{"client": 6379}}
		}
		return ps
	}
	ps := peers(3)
	if got := strings.Join(st.Node(0, ps).Args, " "); got != "--port 6379 --bind 0.0.0.0 --protected-mode no --dir /data --save --appendonly yes --appendfsync always" {
		t.Errorf("n1 args %q", got)
	}
	if got := strings.Join(st.Node(2, ps).Args, " "); !strings.HasSuffix(got, "--appendfsync always --replicaof n1 6379") {
		t.Errorf("n3 args %q", got)
	}
	for _, mode := range []string{"", "primary", "node"} {
		if _, err := st.Client(targets.ClientConfig{ReadMode: mode}); err != nil {
			t.Errorf("read mode %q: %v", mode, err)
		}
	}
	if _, err := st.Client(targets.ClientConfig{ReadMode: "linearizable"}); err == nil {
		t.Errorf("read mode linearizable accepted")
	}
	// --target-opt reads=node reaches the client's options.
	sc.Cluster.Options = map[string]string{"reads": "node"}
	if _, err := sc.Cluster.LookupTarget(); err != nil {
		t.Errorf("reads=node: %v", err)
	}
}

// Each built-in protocol is accepted with its options and serves its
// operations.
func TestProtocols(t *testing.T) {
	base := clone(*loadRedisExample(t).Cluster.Spec)
	for _, c := range []struct {
		proto   string
		key     string
		options map[string]string
		ports   map[string]int
		ops     []string
		not     string
		health  string
	}{
		{"redis", "app:{{.Key}}", map[string]string{"wait": "2", "wait-timeout": "50ms", "reads": "node"}, nil, []string{"read", "cas"}, "txn", "client"},
		{"zookeeper", "/app-{{.Key}}", map[string]string{"read-mode": "plain"}, map[string]int{"quorum": 2888}, []string{"read", "write", "cas"}, "txn", "client"},
		{"postgres", "", map[string]string{"isolation": "read-committed", "replica-reads": "true", "schema": "faultline"}, nil, []string{"txn"}, "read", "client"},
		{"nats", "reg.{{.Key}}", map[string]string{"replicas": "1", "storage": "memory", "kv-read": "direct", "bucket": "app"}, map[string]int{"monitor": 8222}, []string{"read", "enqueue", "poll"}, "txn", "monitor"},
	} {
		s := clone(base)
		s.Client = &spec.Client{Protocol: c.proto, Key: c.key, Options: c.options}
		maps.Copy(s.Ports, c.ports)
		tg, err := spec.New(s, spec.Config{Nodes: 3})
		if err != nil {
			t.Errorf("%s: %v", c.proto, err)
			continue
		}
		for _, f := range c.ops {
			if !tg.Supports(f) {
				t.Errorf("%s: does not support %s", c.proto, f)
			}
		}
		if tg.Supports(c.not) {
			t.Errorf("%s: supports %s", c.proto, c.not)
		}
		if tg.HealthPort() != c.health {
			t.Errorf("%s: health port %q, want %q", c.proto, tg.HealthPort(), c.health)
		}
		for _, final := range []bool{false, true} {
			cl, err := tg.Client(targets.ClientConfig{Final: final, Workload: "register"})
			if err != nil || cl == nil {
				t.Errorf("%s: client (final %v): %v", c.proto, final, err)
			}
		}
	}
}

// Bad client sections and debian sources: one line naming the key.
func TestBadProtocolSpecs(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *spec.Spec, cfg *spec.Config)
		want   string
	}{
		{"unknown protocol", func(s *spec.Spec, _ *spec.Config) { s.Client.Protocol = "memcache" },
			`client.protocol: unknown "memcache" (known: nats, postgres, redis, zookeeper)`},
		{"no protocol", func(s *spec.Spec, _ *spec.Config) { s.Client.Protocol = "" }, "client.protocol: missing (known: nats"},
		{"unknown client option", func(s *spec.Spec, _ *spec.Config) { s.Client.Options["read-mode"] = "x" },
			`client.options.read-mode: the redis client has no such option (known: reads, wait, wait-timeout)`},
		{"bad wait", func(s *spec.Spec, _ *spec.Config) { s.Client.Options["wait"] = "-1" }, `client.options: wait "-1": want a number of replicas`},
		{"bad reads", func(_ *spec.Spec, c *spec.Config) { c.Options = map[string]string{"reads": "replica"} }, `target option reads="replica": want one of "primary", "node"`},
		{"bad reads in the client", func(s *spec.Spec, _ *spec.Config) { s.Client.Options["reads"] = "replica" }, `client.options: reads "replica": want primary or node`},
		{"client option template", func(s *spec.Spec, _ *spec.Config) { s.Client.Options["reads"] = "{{.Options.read}}" }, `client.options.reads "{{.Options.read}}": at <.Options.read>: map has no entry for key "read"`},
		{"key template", func(s *spec.Spec, _ *spec.Config) { s.Client.Key = "{{.Kye}}" }, `client.key "{{.Kye}}": at <.Kye>: can't evaluate field Kye`},
		{"empty key", func(s *spec.Spec, _ *spec.Config) { s.Client.Key = "{{if false}}x{{end}}" }, `client.key "{{if false}}x{{end}}": renders an empty key`},
		{"znode path", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Options, s.Client.Key = "zookeeper", nil, "app/{{.Key}}"
		},
			`client.key "app/{{.Key}}": renders "app/k0.0": want a znode one level under the root`},
		{"nested znode", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Options, s.Client.Key = "zookeeper", nil, "/app/{{.Key}}"
		},
			"want a znode one level under the root"},
		{"zookeeper read mode", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Options, s.Client.Key = "zookeeper", map[string]string{"read-mode": "fast"}, ""
		}, "client.options: read-mode=fast: want sync or plain"},
		{"postgres key", func(s *spec.Spec, _ *spec.Config) { s.Client.Protocol, s.Client.Options = "postgres", nil },
			"client.key: the postgres client takes no key mapping"},
		{"postgres schema", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Key, s.Client.Options = "postgres", "", map[string]string{"schema": "My Schema"}
		}, "client.options: schema=My Schema: want a lower-case SQL identifier"},
		{"nats key", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Options, s.Client.Key = "nats", nil, "reg {{.Key}}"
			s.Ports["monitor"] = 8222
		}, `client.key "reg {{.Key}}": renders "reg k0.0": a key-value key is`},
		{"nats without monitor port", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Options, s.Client.Key = "nats", nil, ""
		},
			`ports: no "monitor" port (the nats client's health check asks it`},
		{"nats replicas", func(s *spec.Spec, _ *spec.Config) {
			s.Client.Protocol, s.Client.Options, s.Client.Key = "nats", map[string]string{"replicas": "9"}, ""
			s.Ports["monitor"] = 8222
		}, "client.options: replicas=9: want 1 to 5"},
		{"requests beside client", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read = &spec.Request{Path: "/kv"} }, "requests: give requests (HTTP) or client (a protocol client), not both"},
		{"leader beside client", func(s *spec.Spec, _ *spec.Config) {
			s.Leader = &spec.Leader{Path: "/status", Status: spec.Codes{{Lo: 200, Hi: 200}}}
		},
			"leader: the redis client finds the leader itself"},
		{"health status without path", func(s *spec.Spec, _ *spec.Config) { s.Health.Status = spec.Codes{{Lo: 200, Hi: 200}} }, "health.status is for an HTTP health request"},
		{"health port", func(s *spec.Spec, _ *spec.Config) { s.Health = spec.Health{Path: "/health", Port: "admin"} }, `health.port "admin": no such port (known: client)`},
		{"no requests, no client", func(s *spec.Spec, _ *spec.Config) { s.Client = nil; s.Health.Path = "/health" }, "requests.read: missing"},
		{"bad package", func(s *spec.Spec, _ *spec.Config) { s.Source.Debian = []string{"redis-server", "Redis Server"} }, `source.debian[1] "Redis Server": not a Debian package name`},
		{"no command", func(s *spec.Spec, _ *spec.Config) { s.Source.Command = nil }, "source.command: missing"},
		{"templated command", func(s *spec.Spec, _ *spec.Config) { s.Source.Command = spec.Command{"redis-server", "{{.Name}}"} }, `source.command[1] "{{.Name}}": the command is fixed`},
		{"command without debian", func(s *spec.Spec, _ *spec.Config) {
			s.Source = spec.Source{Image: "redis:7", Command: spec.Command{"x"}}
		}, "source.command is for debian sources"},
		{"debian and image", func(s *spec.Spec, _ *spec.Config) { s.Source.Image = "redis:7" }, "source: give exactly one of go (a main package), dockerfile (a directory), image or debian (packages) (got 2)"},
		{"--version on debian", func(_ *spec.Spec, c *spec.Config) { c.Version = "7.2" }, "only a go source has versions"},
	}
	for _, c := range cases {
		s, cfg := clone(*loadRedisExample(t).Cluster.Spec), spec.Config{Nodes: 3}
		c.mutate(&s, &cfg)
		_, err := spec.New(s, cfg)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want one line containing %q", c.name, err, c.want)
		}
	}
}
