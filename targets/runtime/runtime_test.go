package runtime

import (
	"strings"
	"testing"
)

func TestShortIDFitsInterfaceNames(t *testing.T) {
	for _, id := range []string{"0a3251f9", "abc", "a-very-long-run-id-given-by-hand"} {
		s := ShortID(id)
		if len(s) > 8 || s == "" {
			t.Errorf("ShortID(%q) = %q", id, s)
		}
		if len(id) <= 8 && s != id {
			t.Errorf("ShortID(%q) = %q, want the id itself", id, s)
		}
		// The longest name a runtime builds from it: "fl" + id + "br".
		if n := len("fl" + s + "br"); n > 15 {
			t.Errorf("interface name of %d bytes", n)
		}
	}
	if ShortID("run-a-long-one") == ShortID("run-b-long-one") {
		t.Errorf("two long ids share a short id")
	}
}

func TestTail(t *testing.T) {
	if got := Tail([]byte("a\nb\nc\nd\n"), 2); got != "c\nd" {
		t.Errorf("Tail = %q", got)
	}
	if got := Tail([]byte("one"), 5); got != "one" {
		t.Errorf("Tail = %q", got)
	}
	if !strings.Contains((&UnhealthyError{Node: "n2", Err: ErrNoNetNS, LastLog: "x"}).Error(), "last log lines of n2") {
		t.Errorf("UnhealthyError does not show the log")
	}
}
