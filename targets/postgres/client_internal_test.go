package postgres

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConnString(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:32768": "postgres://postgres@127.0.0.1:32768/",
		"127.0.0.1:5432":         "postgres://postgres@127.0.0.1:5432/",
	} {
		got, err := connString(base)
		if err != nil || !strings.HasPrefix(got, want) || !strings.Contains(got, "sslmode=disable") {
			t.Errorf("connString(%q) = %q, %v", base, got, err)
		}
	}
	if _, err := connString("http://"); err == nil {
		t.Errorf("an endpoint without host:port was accepted")
	}
}

// Reads are filled in where they were, writes keep their values, and a
// transaction the server could not be asked is refused before anything.
func TestDecodeEncode(t *testing.T) {
	ms, err := decode(json.RawMessage(`[["append","k1.0",7],["r","k1.0",null],["w",3,5]]`))
	if err != nil {
		t.Fatal(err)
	}
	got := encode(ms, []json.RawMessage{nil, json.RawMessage(`[1,7]`), nil})
	if want := `[["append","k1.0",7],["r","k1.0",[1,7]],["w","3",5]]`; string(got) != want {
		t.Errorf("encode = %s, want %s", got, want)
	}
	for _, bad := range []string{`[["append","k",1.5]]`, `[["cas","k",1]]`, `[["w","k","x"]]`, `{}`} {
		if _, err := decode(json.RawMessage(bad)); err == nil {
			t.Errorf("decode(%s) accepted", bad)
		}
	}
}

// What was learned of an endpoint is dropped when it cannot be reached.
func TestRolesForget(t *testing.T) {
	r := newRoles()
	r.set("a", rolePrimary)
	r.set("b", roleReplica)
	r.set("c", roleReplica)
	r.forget("a")
	r.forget("b")
	if r.primary != "" || len(r.replicas) != 1 || r.replicas[0] != "c" || r.get("a") != roleUnknown || r.get("c") != roleReplica {
		t.Errorf("after forget: primary %q replicas %v", r.primary, r.replicas)
	}
}
