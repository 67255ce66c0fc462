package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/faultline/faultline/targets/runtime"
)

// BaseRepo is the repository of Debian base images.
const BaseRepo = "faultline/debian-base"

// Base returns the Debian base image: `debootstrap --variant=minbase
// bookworm` from the mirror apt uses, imported into the engine. Its tag is
// the hash of suite, variant, included packages and mirror. The first build
// takes about 40 s (and installs debootstrap from Debian's packages if it is
// missing); after that it is found by tag.
func Base(ctx context.Context, opts ...Option) (Ref, error) {
	c, err := newConfig(opts)
	if err != nil {
		return Ref{}, err
	}
	cli, err := engine(ctx)
	if err != nil {
		return Ref{}, err
	}
	defer cli.Close()
	return base(ctx, cli, c)
}

func baseRef(c *config) (string, error) {
	if c.mirror == "" {
		m, err := aptMirror(c.suite)
		if err != nil {
			return "", err
		}
		c.mirror = m
	}
	inc := dedupSorted(c.include)
	return BaseRepo + ":" + hashOf("debootstrap-v2", c.suite, c.variant, strings.Join(inc, ","), c.mirror), nil
}

func base(ctx context.Context, cli *client.Client, c *config) (Ref, error) {
	ref, err := baseRef(c)
	if err != nil {
		return Ref{}, err
	}
	r, err := once(ctx, cli, c, ref, func() error {
		if os.Geteuid() != 0 {
			return errors.New("image: building the Debian base needs root (debootstrap)")
		}
		if err := ensureDebootstrap(ctx, c); err != nil {
			return err
		}
		dir, err := os.MkdirTemp(c.cacheDir, "debootstrap-")
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		defer removeRoot(dir, c.log)
		args := []string{"--variant=" + c.variant}
		if inc := dedupSorted(c.include); len(inc) > 0 {
			args = append(args, "--include="+strings.Join(inc, ","))
		}
		args = append(args, c.suite, dir, c.mirror)
		c.log("debootstrap %s (first time only, ~35 s)", strings.Join(args, " "))
		start := time.Now()
		if out, err := exec.CommandContext(ctx, "debootstrap", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("image: debootstrap %s: %v: %s", strings.Join(args, " "), err, lastLines(out, 3))
		}
		c.log("debootstrap done in %.1fs", time.Since(start).Seconds())
		// apt's lists and caches are stale by the time an image is built
		// FROM the base (which runs apt-get update): leave them out.
		for _, g := range []string{"var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb"} {
			m, _ := filepath.Glob(filepath.Join(dir, g))
			for _, f := range m {
				os.RemoveAll(f)
			}
		}
		start = time.Now()
		if err := importDir(ctx, cli, dir, ref); err != nil {
			return err
		}
		c.log("imported %s in %.1fs", ref, time.Since(start).Seconds())
		return nil
	})
	if err != nil {
		return Ref{}, err
	}
	if r.Cached {
		c.log("base %s cached", ref)
	}
	return r, nil
}

// importDir is `tar -C dir -c . | docker import - ref`, through the API.
func importDir(ctx context.Context, cli *client.Client, dir, ref string) error {
	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	out, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	tarCmd.Stderr = &stderr
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("image: tar %s: %w", dir, err)
	}
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: out, SourceName: "-"}, ref, client.ImageImportOptions{
		Message: "faultline: debootstrap",
		Changes: []string{
			"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"LABEL " + runtime.LabelApp + "=image",
			`CMD ["/bin/bash"]`,
		},
	})
	if err != nil {
		tarCmd.Process.Kill()
		tarCmd.Wait()
		return fmt.Errorf("image: import %s: %w", ref, err)
	}
	serr := readStream(res, func(string, ...any) {}, "import "+ref)
	res.Close()
	io.Copy(io.Discard, out)
	if err := tarCmd.Wait(); err != nil {
		return fmt.Errorf("image: tar %s: %v: %s", dir, err, oneLine(stderr.String()))
	}
	return serr
}

// ensureDebootstrap installs debootstrap from Debian's packages when it is
// missing (apt-get update once, then install), under a lock so parallel
// builders do not race on dpkg.
func ensureDebootstrap(ctx context.Context, c *config) error {
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	unlock, err := lock(filepath.Join(c.cacheDir, "locks", "apt.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("image: debootstrap is missing and there is no apt-get to install it (a Debian host is needed)")
	}
	c.log("installing debootstrap from Debian's packages (apt-get update, apt-get install)")
	start := time.Now()
	defer func() { c.log("debootstrap installed in %.1fs", time.Since(start).Seconds()) }()
	// Another apt (a helper, unattended upgrades) may hold dpkg's lock: wait.
	wait := "-oDPkg::Lock::Timeout=300"
	for _, args := range [][]string{{wait, "update"}, {wait, "install", "-y", "debootstrap"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("image: apt-get %s: %v: %s", strings.Join(args[1:], " "), err, lastLines(out, 3))
		}
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("image: apt-get installed debootstrap, but it is not on PATH")
	}
	return nil
}

// aptMirror returns the Debian mirror apt on this machine uses for suite,
// from sources.list and sources.list.d (one-line and deb822 formats).
func aptMirror(suite string) (string, error) {
	files := []string{"/etc/apt/sources.list"}
	for _, pat := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var m string
		if strings.HasSuffix(f, ".sources") {
			m = mirrorDeb822(string(b), suite)
		} else {
			m = mirrorOneLine(string(b), suite)
		}
		if m != "" {
			return m, nil
		}
	}
	return "", fmt.Errorf("image: no Debian mirror for %s in /etc/apt/sources.list or sources.list.d (set one with image.WithMirror)", suite)
}

// mirrorOneLine reads "deb [options] URI suite components" lines.
func mirrorOneLine(s, suite string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) >= 2 && f[1] == suite && httpURI(f[0]) {
			return strings.TrimRight(f[0], "/")
		}
	}
	return ""
}

// mirrorDeb822 reads stanzas of Types, URIs, Suites (and Enabled).
func mirrorDeb822(s, suite string) string {
	for _, stanza := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, " ") {
				continue
			}
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if strings.EqualFold(fields["enabled"], "no") || !hasWord(fields["types"], "deb") || !hasWord(fields["suites"], suite) {
			continue
		}
		for _, u := range strings.Fields(fields["uris"]) {
			if httpURI(u) {
				return strings.TrimRight(u, "/")
			}
		}
	}
	return ""
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// httpURI: debootstrap fetches over http(s) (or file), not through apt's
// other transports.
func httpURI(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "file:/")
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return oneLine(strings.Join(lines, " | "))
}
