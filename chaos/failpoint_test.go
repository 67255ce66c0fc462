package chaos

import "testing"

func TestFailpointParams(t *testing.T) {
	fs, err := Parse([]string{"failpoint:name=raftBeforeSave,action=panic"}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if n := fs[0].Needs().Failpoint; n != "raftBeforeSave" {
		t.Fatalf("needs failpoint %q", n)
	}
	for _, bad := range []string{"failpoint", "failpoint:name=x,node=nowhere", "failpoint:name=x,when=now"} {
		if _, err := Parse([]string{bad}, DefaultOptions()); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
