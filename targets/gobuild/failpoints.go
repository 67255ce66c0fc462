package gobuild

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GofailVersion is the gofail tool and runtime failpoint builds use.
const GofailVersion = "v0.2.0"

// enableFailpoints copies each of mods (already required by the build
// module in work) out of the read-only module cache into work, turns its
// "// gofail:" comments into failpoints (gofail enable, as etcd's own
// Makefile does on its tree) and replaces the module by the copy. It returns
// the failpoint names it found.
func enableFailpoints(ctx context.Context, work string, mods []string) ([]string, error) {
	var names []string
	if _, err := goCmd(ctx, work, "get", "go.etcd.io/gofail@"+GofailVersion); err != nil {
		return nil, fmt.Errorf("fetch gofail: %w", err)
	}
	for k, mod := range mods {
		out, err := goCmd(ctx, work, "list", "-m", "-f", "{{.Dir}}", mod)
		if err != nil {
			return nil, fmt.Errorf("find %s sources: %w", mod, err)
		}
		src := strings.TrimSpace(out)
		dst := filepath.Join(work, fmt.Sprintf("fp%d", k))
		var dirs []string
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			to := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.MkdirAll(to, 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") && bytes.Contains(b, []byte("// gofail:")) {
				if !contains(dirs, filepath.Dir(to)) {
					dirs = append(dirs, filepath.Dir(to))
				}
				for _, line := range bytes.Split(b, []byte("\n")) {
					if f := strings.Fields(string(line)); len(f) >= 4 && f[0] == "//" && f[1] == "gofail:" && f[2] == "var" {
						names = append(names, f[3])
					}
				}
			}
			return os.WriteFile(to, b, 0o644)
		})
		if err != nil {
			return nil, fmt.Errorf("copy %s sources: %w", mod, err)
		}
		if len(dirs) > 0 {
			if _, err := goCmd(ctx, work, append([]string{"run", "go.etcd.io/gofail@" + GofailVersion, "enable"}, dirs...)...); err != nil {
				return nil, fmt.Errorf("gofail enable %s: %w", mod, err)
			}
		}
		if _, err := goCmd(ctx, work, "mod", "edit", "-replace", mod+"=./"+filepath.Base(dst)); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
