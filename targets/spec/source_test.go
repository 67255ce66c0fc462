package spec_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/spec"
)

// A go source at a version is fetched through the module proxy and built
// in a throwaway module, then found in the cache by its exact version. The
// program here is vegeta's command (already in the module cache, since
// Faultline depends on its library).
func TestGoModuleSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program from the module proxy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := exampleSpec(t)
	s.Name, s.Source = "vegeta-cmd", spec.Source{Go: "github.com/tsenart/vegeta/v12"}
	tg := newTarget(t, s, spec.Config{})
	if tg.DefaultVersion() != "latest" {
		t.Errorf("default version %q, want latest", tg.DefaultVersion())
	}
	cache := t.TempDir()
	art, err := tg.Prepare(ctx, "v12.13.0", targets.PrepareOptions{CacheDir: cache, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if art.Version != "v12.13.0" || !strings.HasPrefix(art.Binary, cache) {
		t.Errorf("artifact %+v", art)
	}
	out, err := exec.Command(art.Binary, "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Version:") {
		t.Errorf("%s -version: %v %s", art.Binary, err, out)
	}
	start := time.Now()
	again, err := tg.Prepare(ctx, "v12.13.0", targets.PrepareOptions{CacheDir: cache})
	if err != nil || again != art {
		t.Errorf("second prepare: %+v %v, want the cached %+v", again, err, art)
	}
	t.Logf("cached in %v", time.Since(start))

	s.Source.Go = "github.com/tsenart/vegeta/v12/lib"
	_, err = newTarget(t, s, spec.Config{}).Prepare(ctx, "v12.13.0", targets.PrepareOptions{CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "not a main package") {
		t.Errorf("a library as source: %v", err)
	}
}
