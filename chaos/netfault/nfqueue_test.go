package netfault

import (
	"encoding/binary"
	"testing"
)

func msg(typ uint16, data []byte, pad bool) []byte {
	l := 16 + len(data)
	b := make([]byte, l)
	binary.NativeEndian.PutUint32(b, uint32(l))
	binary.NativeEndian.PutUint16(b[4:], typ)
	copy(b[16:], data)
	if pad {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

// parseMessages takes padded messages and a last one without its padding
// (which the kernel sends, and syscall.ParseNetlinkMessage refuses); it
// stops at a truncated one.
func TestParseMessages(t *testing.T) {
	b := append(msg(0x300, []byte{1, 2, 3, 4, 5}, true), msg(0x301, []byte{9, 9, 9}, false)...)
	ms := parseMessages(b)
	if len(ms) != 2 || ms[0].typ != 0x300 || len(ms[0].data) != 5 || ms[1].typ != 0x301 || len(ms[1].data) != 3 {
		t.Fatalf("parsed %+v", ms)
	}
	if ms := parseMessages(b[:len(b)-1]); len(ms) != 1 {
		t.Errorf("a truncated message was taken: %+v", ms)
	}
	if ms := parseMessages(nil); len(ms) != 0 {
		t.Errorf("nothing parsed as %+v", ms)
	}
}
