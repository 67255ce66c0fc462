package spec_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Bad specs given to `faultline run --scenario` exit 3 with one line, before
// anything is launched (not even the output directory is created).
func TestCLIRefusesBadSpecs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the faultline command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "faultline")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/faultline/faultline/cmd/faultline").CombinedOutput(); err != nil {
		t.Fatalf("build faultline: %v\n%s", err, out)
	}
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !bytes.Contains(src, []byte(old)) {
			t.Fatalf("the example has no %q", old)
		}
		return strings.Replace(string(src), old, new, 1)
	}
	// cut removes the lines from the one starting with from up to the one
	// starting with to.
	cut := func(from, to string) string {
		i, j := bytes.Index(src, []byte("\n"+from)), bytes.Index(src, []byte("\n"+to))
		if i < 0 || j < i {
			t.Fatalf("the example has no %q ... %q", from, to)
		}
		return string(src[:i]) + string(src[j:])
	}
	cases := []struct {
		name string
		file string
		args []string
		want string
	}{
		{"missing client port", edit("      client: 8080\n", ""), nil, `ports: no "client" port`},
		{"unknown template field", edit(`"{{.Name}}"`, `"{{.Nmae}}"`), nil, "can't evaluate field Nmae"},
		{"template does not parse", edit(`"{{.Name}}"`, `"{{.Name"`), nil, "unclosed action"},
		{"no read request", edit("      read:\n", "      reed:\n"), nil, `cluster.spec.requests.reed`},
		{"no read request at all", cut("      read:", "      write:"), nil, "requests.read: missing"},
		{"bad status", edit("{status: 412, outcome: fail}", "{status: 4xy, outcome: fail}"), nil, `status "4xy"`},
		{"--target beside a spec", string(src), []string{"--target", "raftkv"}, "describes its own target"},
		{"unknown option", string(src), []string{"--target-opt", "bgu=x"}, `unknown target option "bgu"`},
		{"unknown bug", string(src), []string{"--bug", "nosuch"}, `target option bug="nosuch": want one of`},
		{"cas in the mix, no cas request", cut("      cas:", "load:"), nil, "has no cas request"},
		{"--read-mode", string(src), []string{"--read-mode", "serializable"}, "one read request"},
	}
	for _, c := range cases {
		file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
		if err := os.WriteFile(file, []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "results-"+filepath.Base(file))
		cmd := exec.Command(bin, append([]string{"run", "--scenario", file, "--out", out}, c.args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("%s: %v, want exit 3 (stderr %q)", c.name, err, stderr.String())
			continue
		}
		msg := strings.TrimSpace(stderr.String())
		if strings.Count(msg, "\n") > 0 || !strings.Contains(msg, c.want) {
			t.Errorf("%s: stderr %q, want one line containing %q", c.name, msg, c.want)
		}
		t.Logf("%s: %s", c.name, msg)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: created %s although the spec was bad", c.name, out)
		}
	}
}

// A bad protocol client section is refused the same way: exit 3, one line
// naming the key, nothing created.
func TestCLIRefusesBadProtocolSpecs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the faultline command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "faultline")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/faultline/faultline/cmd/faultline").CombinedOutput(); err != nil {
		t.Fatalf("build faultline: %v\n%s", err, out)
	}
	src, err := os.ReadFile(redisExample)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ old, new, want string }{
		{"protocol: redis", "protocol: memcache", `cluster.spec: client.protocol: unknown "memcache" (known: nats, postgres, redis, zookeeper)`},
		{`wait: "0"`, `wait: "-1"`, `cluster.spec: client.options: wait "-1": want a number of replicas`},
		{"debian: [redis-server]", "debian: [Redis_Server]", `cluster.spec: source.debian[0] "Redis_Server": not a Debian package name`},
		{"      command: [redis-server]\n", "", "cluster.spec: source.command: missing"},
	} {
		if !bytes.Contains(src, []byte(c.old)) {
			t.Fatalf("the example has no %q", c.old)
		}
		file := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(file, bytes.Replace(src, []byte(c.old), []byte(c.new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "results")
		cmd := exec.Command(bin, "run", "--scenario", file, "--out", out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		msg := strings.TrimSpace(stderr.String())
		if !errors.As(err, &ee) || ee.ExitCode() != 3 || strings.Contains(msg, "\n") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %v, stderr %q; want exit 3 and one line containing %q", c.new, err, msg, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: created %s although the spec was bad", c.new, out)
		}
	}
}
