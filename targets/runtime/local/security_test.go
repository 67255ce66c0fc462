//go:build linux

package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/local"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// plant writes a state file for run id into stateDir, as a killed run (or
// someone else) would have left it.
func plant(t *testing.T, stateDir, id string, st map[string]any) {
	t.Helper()
	dir := filepath.Join(stateDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A state file that names a namespace or a link outside its run's naming
// scheme (or another run's) gets nothing removed: a planted one once made
// `clean --all` unmount a tmpfs and delete an unrelated interface.
func TestCleanLeavesForeignNamesAlone(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	stateDir := filepath.Join(t.TempDir(), "state")
	id, other := runtime.NewRunID(), runtime.NewRunID()
	victimNS := "victim-" + id
	otherNS := "faultline-" + other + "-n1"
	victimLink := "flv" + id[:6] + "x"
	victimDir := t.TempDir()
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", victimNS).Run()
		exec.Command("ip", "netns", "del", otherNS).Run()
		exec.Command("ip", "link", "del", victimLink).Run()
	})
	for _, args := range [][]string{{"netns", "add", victimNS}, {"netns", "add", otherNS}, {"link", "add", victimLink, "type", "veth", "peer", "name", victimLink + "p"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	plant(t, stateDir, id, map[string]any{"run_id": id, "netns": []string{victimNS, otherNS}, "links": []string{victimLink},
		"node_root": victimDir})
	// A state file that names another run than its directory.
	third := runtime.NewRunID()
	plant(t, stateDir, third, map[string]any{"run_id": other, "netns": []string{otherNS}})
	rt, err := local.New(local.WithNamespaces(false), local.WithStateDir(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	// Never clean "" (--all) here: it would take other runs on this machine.
	for _, run := range []string{id, third} {
		removed, err := rt.Clean(ctx, run)
		t.Logf("clean %q: removed %v; %v", run, removed, err)
		if err == nil || !strings.Contains(err.Error(), "left alone") && !strings.Contains(err.Error(), "names run") {
			t.Errorf("clean %q: no word of the foreign names: %v", run, err)
		}
	}
	for _, ns := range []string{victimNS, otherNS} {
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			t.Errorf("namespace %s was removed: %v", ns, err)
		}
	}
	if exec.Command("ip", "link", "show", victimLink).Run() != nil {
		t.Errorf("link %s was removed", victimLink)
	}
	if _, err := os.Stat(victimDir); err != nil {
		t.Errorf("directory %s was removed", victimDir)
	}
}

// A state directory someone else owns is not trusted: nothing in it is
// acted upon, and Launch refuses to use it, in one line.
func TestStateDirOwnedByAnotherUser(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	stateDir := filepath.Join(t.TempDir(), "state")
	id := runtime.NewRunID()
	victimNS := "victim-" + id
	if out, err := exec.Command("ip", "netns", "add", "faultline-"+id+"-n1").CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", "faultline-"+id+"-n1").Run() })
	plant(t, stateDir, id, map[string]any{"run_id": id, "netns": []string{victimNS}})
	if err := os.Chown(stateDir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	rt, err := local.New(local.WithNamespaces(false), local.WithStateDir(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Clean(ctx, id)
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("clean in a state directory of uid 65534: %v", err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, id)); err != nil {
		t.Errorf("the run directory was removed: %v", err)
	}
	tg := etcd.New()
	_, err = rt.Launch(ctx, runtime.ClusterSpec{RunID: runtime.NewRunID(), Target: tg, Artifact: targets.Artifact{Binary: "/bin/true"}, Nodes: 1})
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") || strings.Contains(err.Error(), "\n") {
		t.Errorf("launch in a state directory of uid 65534: %v", err)
	}
}

// Run ids that are paths are refused before anything is created or removed.
func TestRunIDThatEscapes(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	stateDir := filepath.Join(base, "state")
	os.Mkdir(stateDir, 0o700)
	victim := filepath.Join(base, "victim")
	os.Mkdir(victim, 0o755)
	rt, err := local.New(local.WithNamespaces(false), local.WithStateDir(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"../victim", "..", "../../" + filepath.Base(base)} {
		if removed, err := rt.Clean(ctx, id); err == nil {
			t.Errorf("clean %q: removed %v", id, removed)
		}
		if _, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: id, Target: etcd.New(), Artifact: targets.Artifact{Binary: "/bin/true"}, Nodes: 1}); err == nil {
			t.Errorf("launch %q accepted", id)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("victim removed: %v", err)
	}
}

func procUID(t *testing.T, runID string) []string {
	t.Helper()
	var uids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !strings.Contains(string(env), runtime.EnvRun+"="+runID+"\x00") {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
				uids = append(uids, f[1])
			}
		}
	}
	return uids
}

// As root, node programs run as nobody by default, in a directory they own;
// --node-user root keeps root.
func TestNodesRunUnprivileged(t *testing.T) {
	needRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, c := range []struct {
		user, uid string
	}{{"", "65534"}, {"root", "0"}} {
		t.Run(fmt.Sprintf("user=%q", c.user), func(t *testing.T) {
			rt, err := local.New(local.WithNamespaces(false), local.WithNodeUser(c.user))
			if err != nil {
				t.Fatal(err)
			}
			runID := runtime.NewRunID()
			cl := launch(t, ctx, rt, runID)
			uids := procUID(t, runID)
			if len(uids) != 3 {
				t.Errorf("%d node processes found", len(uids))
			}
			for _, u := range uids {
				if u != c.uid {
					t.Errorf("a node runs as uid %s, want %s", u, c.uid)
				}
			}
			dataDir := t.TempDir()
			if err := cl.SaveData(ctx, dataDir); err != nil {
				t.Errorf("save data: %v", err)
			}
			if m, _ := filepath.Glob(filepath.Join(dataDir, "n1", "member", "*")); len(m) == 0 {
				t.Errorf("no data saved of n1")
			}
			// A data/ planted as a symlink in the run directory is not
			// written through.
			runDir, elsewhere := t.TempDir(), t.TempDir()
			os.Symlink(elsewhere, filepath.Join(runDir, "data"))
			if err := cl.SaveData(ctx, filepath.Join(runDir, "data")); err == nil {
				t.Errorf("save data through a symlinked data/")
			}
			if m, _ := filepath.Glob(filepath.Join(elsewhere, "*")); len(m) > 0 {
				t.Errorf("data written elsewhere: %v", m)
			}
			if err := cl.Close(ctx); err != nil {
				t.Fatal(err)
			}
			assertGone(t, runID)
			if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "faultline-nodes-"+runID+"-*")); len(m) > 0 {
				t.Errorf("node directories left: %v", m)
			}
		})
	}
	if err := local.CheckNodeUser("no-such-user-here"); err == nil {
		t.Errorf("an unknown node user accepted")
	}
}
