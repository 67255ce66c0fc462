package runtime

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/targets/etcd"
)

func TestValidateRunID(t *testing.T) {
	for _, id := range []string{NewRunID(), "0a3251f9", "deadbeef"} {
		if err := ValidateRunID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{"", "..", "../victim", "../..", "/", "0a3251f", "0a3251f90", "0A3251F9", "0a32/1f9",
		"0a3251f\x00", "chaostest-0a3251f9", "a-very-long-run-id-given-by-hand", "0a3251f9\n"} {
		if err := ValidateRunID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestRunPathStaysInside(t *testing.T) {
	parent := t.TempDir()
	if p, err := RunPath(parent, "0a3251f9"); err != nil || p != filepath.Join(parent, "0a3251f9") {
		t.Errorf("RunPath = %q, %v", p, err)
	}
	for _, id := range []string{"../victim", "..", "../..", "x/../../y"} {
		if p, err := RunPath(parent, id); err == nil {
			t.Errorf("RunPath(%q) = %q", id, p)
		}
	}
	for _, name := range []string{"..", "../x.json", "a/b", ".", ""} {
		if p, err := Within(parent, name); err == nil {
			t.Errorf("Within(%q) = %q", name, p)
		}
	}
	if _, err := Within(parent, "0a3251f9.json"); err != nil {
		t.Error(err)
	}
}

func TestStateDirTrust(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	if err := EnsureStateDir(fresh); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(fresh)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("created with mode %v, want 0700", st.Mode().Perm())
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if err := CheckStateDir(open); err == nil || !strings.Contains(err.Error(), "0777") {
		t.Errorf("a world-writable state dir: %v", err)
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(base, "other")
		os.Mkdir(other, 0o700)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := EnsureStateDir(other)
		if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") || strings.Contains(err.Error(), "\n") {
			t.Errorf("a state dir owned by another user: %v", err)
		}
		// A link someone else made, to a directory of one's own, is theirs.
		link := filepath.Join(base, "link")
		os.Symlink(fresh, link)
		os.Lchown(link, 65534, 65534)
		if err := CheckStateDir(link); err == nil {
			t.Errorf("a symlink owned by another user accepted")
		}
	}
	if os.Geteuid() == 0 && os.Getenv("FAULTLINE_STATE_DIR") == "" && StateDir() != "/run/faultline" {
		t.Errorf("StateDir as root = %s, want /run/faultline", StateDir())
	}
}

func TestProcessVerify(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p, err := ProcessOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(); err != nil {
		t.Errorf("the process itself: %v", err)
	}
	self, err := Self()
	if err != nil || self.Exe == "" || self.Start == 0 {
		t.Fatalf("Self = %+v, %v", self, err)
	}
	// A record of another process (a reused pid) and one that says
	// nothing but the pid: neither is signalled.
	for _, rec := range []Process{
		{Pid: p.Pid, Exe: self.Exe, Start: p.Start},
		{Pid: p.Pid, Exe: p.Exe, Start: p.Start + 1},
		{Pid: p.Pid},
	} {
		if err := rec.Signal(syscall.SIGTERM); err == nil {
			t.Errorf("record %+v: signalled", rec)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if q, err := ProcessOf(p.Pid); err != nil || q != p {
		t.Fatalf("the sleep did not survive: %+v, %v", q, err)
	}
}

// node is the handle WaitHealthy needs: a name and an endpoint.
type node struct {
	Node
	base string
}

func (n node) Name() string                         { return "n1" }
func (n node) Endpoint(string) string               { return n.base }
func (n node) Logs(context.Context) ([]byte, error) { return nil, nil }

// A node's health endpoint that redirects is not followed: root's requests
// go to the nodes and nowhere else.
func TestHealthRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Write([]byte(`{"health":"true"}`))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/health", http.StatusFound)
	}))
	defer srv.Close()
	err := WaitHealthy(context.Background(), etcd.New(), []Node{node{base: srv.URL}}, 500*time.Millisecond)
	if err == nil {
		t.Errorf("a node that redirects its health check was called healthy")
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}
