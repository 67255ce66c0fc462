package targets

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMostNamed(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"", ""}, ""}, {[]string{"n2", "n2", "n1"}, "n2"}, {[]string{"n3", "", "n1"}, "n1"}} {
		if got := MostNamed(c.in); got != c.want {
			t.Errorf("MostNamed(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestElected(t *testing.T) {
	for _, c := range []struct {
		ids, named []string
		want       int
	}{
		{[]string{"a", "b", "c"}, []string{"b", "b", "a"}, 1},
		{[]string{"a", "", "c"}, []string{"c", "", "c"}, 2},
		{[]string{"a", "b", "c"}, []string{"", "", ""}, -1},
		{[]string{"a", "", "c"}, []string{"b", "b", ""}, -1}, // the named leader did not answer
	} {
		if got := Elected(c.ids, c.named); got != c.want {
			t.Errorf("Elected(%q, %q) = %d, want %d", c.ids, c.named, got, c.want)
		}
	}
}

// One slow node must not hold up the others: the slow one only answers once
// both others were asked, which a one-after-the-other loop would never do.
func TestAskAllAsksConcurrently(t *testing.T) {
	asked := make(chan string, 2)
	out, errs := AskAll(context.Background(), []string{"slow", "a", "b"}, func(_ context.Context, b string) (string, error) {
		if b != "slow" {
			asked <- b
			return b + "!", nil
		}
		for range 2 {
			select {
			case <-asked:
			case <-time.After(5 * time.Second):
				return "", errors.New("the other nodes were not asked meanwhile")
			}
		}
		return "slow!", nil
	})
	if out[0] != "slow!" || out[1] != "a!" || out[2] != "b!" || errs[0] != nil {
		t.Errorf("answers %q, errors %v", out, errs)
	}
}
