package etcd

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Outcome.Version of etcd's operations is {"rev":R,"mod":M,"ser":true}
// (checkers/revisions reads it): R the header revision (the store's revision
// when the request was served; for a put, the revision the put created), M
// the mod_revision of the key a read found, ser on reads served from one
// member's local state (read-mode serializable, per-member reads), which
// are not ordered in real time.

// version scans body for the header revision and, when read, the first
// kv's mod_revision, and encodes them; nil when the body has no revision.
// It runs for every operation: it appends to buf (the operation's own
// Version, whose capacity the load keeps from one pooled operation to the
// next), so in the steady state it allocates nothing.
func (c *client) version(buf, body []byte, read bool) json.RawMessage {
	rev := scanInt(body, []byte(`"revision"`))
	if rev <= 0 {
		return nil
	}
	b := buf[:0]
	b = append(b, `{"rev":`...)
	b = strconv.AppendInt(b, rev, 10)
	if read {
		if mod := scanInt(body, []byte(`"mod_revision"`)); mod > 0 {
			b = append(b, `,"mod":`...)
			b = strconv.AppendInt(b, mod, 10)
		}
		if c.serializable || c.member {
			b = append(b, `,"ser":true`...)
		}
	}
	return append(b, '}')
}

// scanInt finds the first name in body and reads the integer after it,
// quoted (protojson writes int64 as a string) or not; 0 when absent.
// `"revision"` does not match inside `"mod_revision"`: the quote is part of
// the name.
func scanInt(body, name []byte) int64 {
	i := bytes.Index(body, name)
	if i < 0 {
		return 0
	}
	b := bytes.TrimLeft(body[i+len(name):], " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return 0
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) > 0 && b[0] == '"' {
		b = b[1:]
	}
	var n int64
	k := 0
	for ; k < len(b) && b[k] >= '0' && b[k] <= '9' && k < 19; k++ {
		n = n*10 + int64(b[k]-'0')
	}
	if k == 0 {
		return 0
	}
	return n
}
