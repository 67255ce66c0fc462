package netfault

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func scratch(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	ns, err := newScratchNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns))
}

// The rules land in the namespace as nft itself would write them, and Clear
// removes the table.
func TestApplyAndClear(t *testing.T) {
	ns := scratch(t)
	a, b := netip.MustParseAddr("10.77.0.2"), netip.MustParseAddr("10.77.0.3")
	r := Rules{Cut: []netip.Addr{a}, NoConnTo: []netip.Addr{b}, NoConnFrom: []netip.Addr{a},
		LossFrom: []netip.Addr{b}, LossPercent: 30, OnlyPeers: true, Peers: []netip.Addr{a, b}}
	if err := Apply(ns, r); err != nil {
		t.Fatal(err)
	}
	if ok, err := Installed(ns); !ok || err != nil {
		t.Fatalf("installed = %v, %v after Apply", ok, err)
	}
	if _, err := exec.LookPath("nft"); err == nil {
		out, err := exec.Command("nsenter", "--net="+ns, "nft", "list", "table", "ip", TableName).CombinedOutput()
		if err != nil {
			t.Fatalf("nft list: %v: %s", err, out)
		}
		for _, want := range []string{
			"ip saddr 10.77.0.2 drop", "ip daddr 10.77.0.2 drop",
			"ip daddr 10.77.0.3 ct direction original drop", "ip saddr 10.77.0.3 ct direction reply drop",
			"ip saddr 10.77.0.2 ct direction original drop", "ip daddr 10.77.0.2 ct direction reply drop",
			"ip saddr 10.77.0.3 numgen random mod 100 < 30 drop",
			`iifname "lo" accept`, `oifname "lo" accept`, "ip saddr 10.77.0.3 accept",
		} {
			if !strings.Contains(string(out), want) {
				t.Errorf("ruleset lacks %q:\n%s", want, out)
			}
		}
	}
	// Applying again replaces, never duplicates.
	if err := Apply(ns, Rules{Cut: []netip.Addr{b}}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("nsenter", "--net="+ns, "nft", "list", "table", "ip", TableName).CombinedOutput(); err == nil &&
		(strings.Contains(string(out), "10.77.0.2") || !strings.Contains(string(out), "ip saddr 10.77.0.3 drop")) {
		t.Errorf("second Apply did not replace the first:\n%s", out)
	}
	if err := Clear(ns); err != nil {
		t.Fatal(err)
	}
	if ok, err := Installed(ns); ok || err != nil {
		t.Fatalf("installed = %v, %v after Clear", ok, err)
	}
	// Clearing what is not there is fine.
	if err := Clear(ns); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	for _, r := range []Rules{
		{LossPercent: 101, LossFrom: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
		{Cut: []netip.Addr{netip.MustParseAddr("::1")}},
		{Delay: -1},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
	if !(Rules{}).Empty() || (Rules{OnlyPeers: true}).Empty() {
		t.Error("Empty is wrong")
	}
}

// Whether this kernel has netem is detected, not assumed: the probe answers
// either yes or ErrNoNetem, never another error, as root.
func TestCheckNetem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	err := CheckNetem()
	if err != nil && !errors.Is(err, ErrNoNetem) {
		t.Fatalf("CheckNetem: %v", err)
	}
	t.Logf("netem: %v", err)
	ns := scratch(t)
	if perr := ProbeNetem(ns); (perr == nil) != (err == nil) {
		t.Errorf("ProbeNetem %v disagrees with CheckNetem %v", perr, err)
	}
}
