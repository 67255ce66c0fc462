package registry

import (
	"slices"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("thing")
	r.Register("b", 2)
	r.Register("a", 1)
	if v, err := r.Lookup("a"); err != nil || v != 1 {
		t.Fatalf("Lookup(a) = %v, %v", v, err)
	}
	if _, err := r.Lookup("c"); err == nil || !strings.Contains(err.Error(), `unknown thing "c" (known: a, b)`) {
		t.Errorf("Lookup(c): %v", err)
	}
	if !slices.Equal(r.Names(), []string{"a", "b"}) {
		t.Errorf("Names %v", r.Names())
	}
	defer func() {
		if recover() == nil {
			t.Error("a name registered twice did not panic")
		}
	}()
	r.Register("a", 3)
}
