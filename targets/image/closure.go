package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
)

// Closure returns a FROM-scratch image of one binary plus the shared
// libraries its loader lists (what ldd prints) and the loader itself, each at
// its path, with the binary as entrypoint.
//
// By default binary is a file on the host and the host's ldd resolves it. With
// WithDebianPackages the binary comes from those packages instead: they, the
// packages of the same source they depend on (redis-server needs redis-tools)
// and the shared-library packages (lib*) they depend on, transitively, are
// fetched with apt-get download and unpacked with dpkg-deb into a scratch
// directory, and the packages' own loader lists the closure there; nothing
// is installed on the host, and a library only the host has is an error.
//
// The tag hashes the closure's content: the files' bytes for a host binary,
// the .deb files' SHA-256 (from apt's index, before anything is downloaded,
// so a cached image costs no download) for packages.
func Closure(ctx context.Context, binary string, opts ...Option) (Ref, error) {
	if !path.IsAbs(binary) {
		return Ref{}, fmt.Errorf("image: closure binary %q must be an absolute path", binary)
	}
	c, err := newConfig(opts)
	if err != nil {
		return Ref{}, err
	}
	if len(c.run) > 0 {
		return Ref{}, errors.New("image: WithRun needs a shell; a closure image has none")
	}
	cli, err := engine(ctx)
	if err != nil {
		return Ref{}, err
	}
	defer cli.Close()
	name := c.name
	if name == "" {
		name = path.Base(binary)
	}
	if len(c.entrypoint) == 0 {
		c.entrypoint = []string{binary}
	}
	recipe := "entrypoint=" + jsonArgs(c.entrypoint) + " cmd=" + jsonArgs(c.cmd) + " files=" + filesKey(c.files)
	if len(c.packages) == 0 {
		files, err := hostClosure(ctx, binary)
		if err != nil {
			return Ref{}, err
		}
		key, err := contentKey(files)
		if err != nil {
			return Ref{}, err
		}
		ref := "faultline/" + repoName(name) + ":" + hashOf("closure-v1", binary, key, recipe)
		return closureOnce(ctx, cli, c, ref, func() ([]closureFile, func(), error) { return files, func() {}, nil })
	}
	pkgs, debs, err := aptAnswers(ctx, c.cacheDir, dedupSorted(c.packages))
	if err != nil {
		return Ref{}, err
	}
	ref := "faultline/" + repoName(name) + ":" + hashOf("closure-deb-v1", binary, debs, recipe)
	return closureOnce(ctx, cli, c, ref, func() ([]closureFile, func(), error) {
		root, err := os.MkdirTemp(c.cacheDir, "closure-")
		if err != nil {
			return nil, nil, fmt.Errorf("image: %w", err)
		}
		cleanup := func() { os.RemoveAll(root) }
		c.log("fetching %d Debian packages for %s: %s", len(pkgs), binary, strings.Join(pkgs, " "))
		if err := fetchPackages(ctx, root, pkgs); err != nil {
			cleanup()
			return nil, nil, err
		}
		files, err := treeClosure(ctx, root, binary)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		return files, cleanup, nil
	})
}

// closureFile is one file of a closure image: its path in the image and
// where its bytes are now.
type closureFile struct {
	path, src string
}

func closureOnce(ctx context.Context, cli *client.Client, c *config, ref string, collect func() ([]closureFile, func(), error)) (Ref, error) {
	r, err := once(ctx, cli, c, ref, func() error {
		files, cleanup, err := collect()
		if err != nil {
			return err
		}
		defer cleanup()
		c.log("building %s FROM scratch: %d files", ref, len(files))
		dirs := map[string]bool{}
		var libPath []string
		for _, f := range files[1:] {
			if d := path.Dir(f.path); !dirs[d] && strings.Contains(path.Base(f.path), ".so") {
				dirs[d] = true
				libPath = append(libPath, d)
			}
		}
		sort.Strings(libPath)
		var df strings.Builder
		df.WriteString("FROM scratch\nCOPY root/ /\n")
		if len(libPath) > 0 {
			// No ld.so.cache in the image: the loader finds libraries
			// outside its default directories through this.
			fmt.Fprintf(&df, "ENV LD_LIBRARY_PATH=%s\n", strings.Join(libPath, ":"))
		}
		fmt.Fprintf(&df, "ENTRYPOINT %s\n", jsonArgs(c.entrypoint))
		if len(c.cmd) > 0 {
			fmt.Fprintf(&df, "CMD %s\n", jsonArgs(c.cmd))
		}
		bc, err := newBuildContext(df.String())
		if err != nil {
			return err
		}
		for _, f := range files {
			data, err := os.ReadFile(f.src)
			if err != nil {
				return fmt.Errorf("image: %w", err)
			}
			st, err := os.Stat(f.src)
			if err != nil {
				return fmt.Errorf("image: %w", err)
			}
			if err := bc.add("root"+f.path, data, st.Mode()); err != nil {
				return err
			}
		}
		for _, f := range c.files {
			if err := bc.add("root"+f.Path, f.Data, f.Mode); err != nil {
				return err
			}
		}
		return dockerBuild(ctx, cli, c, ref, bc)
	})
	if err == nil && r.Cached {
		c.log("%s cached", ref)
	}
	return r, err
}

// hostClosure lists a host binary, its loader and the libraries ldd prints.
func hostClosure(ctx context.Context, binary string) ([]closureFile, error) {
	interp, err := interpreter(binary)
	if err != nil {
		return nil, err
	}
	files := []closureFile{{path: binary, src: binary}}
	if interp == "" {
		return files, nil // static: nothing else to copy
	}
	out, err := exec.CommandContext(ctx, "ldd", binary).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("image: ldd %s: %v: %s", binary, err, oneLine(string(out)))
	}
	libs, missing := parseLdd(string(out))
	if len(missing) > 0 {
		return nil, fmt.Errorf("image: ldd %s: not found: %s", binary, strings.Join(missing, ", "))
	}
	files = append(files, closureFile{path: interp, src: interp})
	for _, l := range libs {
		if l != interp {
			files = append(files, closureFile{path: l, src: l})
		}
	}
	return files, nil
}

// treeClosure does the same inside an unpacked package tree: the binary and
// the loader resolved there, and the libraries the tree's own loader lists
// with the tree's library directories first. A library found outside the
// tree (on the host) is an error: the image must not depend on the host.
func treeClosure(ctx context.Context, root, binary string) ([]closureFile, error) {
	bin, err := resolveIn(root, binary)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("image: %s is in none of the packages", binary)
		}
		return nil, fmt.Errorf("image: %s in the packages: %w", binary, err)
	}
	interp, err := interpreter(bin)
	if err != nil {
		return nil, err
	}
	files := []closureFile{{path: binary, src: bin}}
	if interp == "" {
		return files, nil
	}
	loader, err := resolveIn(root, interp)
	if err != nil {
		return nil, fmt.Errorf("image: loader %s of %s is not in the packages (add libc6): %w", interp, binary, err)
	}
	dirs, err := libDirs(root)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, loader, "--library-path", strings.Join(dirs, ":"), "--list", bin).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("image: list the libraries of %s: %v: %s", binary, err, oneLine(string(out)))
	}
	libs, missing := parseLdd(string(out))
	if len(missing) > 0 {
		return nil, fmt.Errorf("image: %s needs %s, in none of the packages", binary, strings.Join(missing, ", "))
	}
	files = append(files, closureFile{path: interp, src: loader})
	var host []string
	for _, l := range libs {
		rel, err := filepath.Rel(root, l)
		if err != nil || strings.HasPrefix(rel, "..") {
			if path.Base(l) != path.Base(interp) {
				host = append(host, l)
			}
			continue
		}
		p := "/" + filepath.ToSlash(rel)
		if p == interp || path.Base(p) == path.Base(interp) {
			continue
		}
		src, err := resolveIn(root, p)
		if err != nil {
			return nil, fmt.Errorf("image: %s: %w", p, err)
		}
		files = append(files, closureFile{path: p, src: src})
	}
	if len(host) > 0 {
		return nil, fmt.Errorf("image: %s needs libraries found only on the host, not in the packages: %s", binary, strings.Join(host, ", "))
	}
	return files, nil
}

// interpreter is the ELF program interpreter (the loader), "" when static.
func interpreter(file string) (string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return "", fmt.Errorf("image: %s is not an ELF binary: %w", file, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "", fmt.Errorf("image: read the loader of %s: %w", file, err)
			}
			return strings.TrimRight(string(b), "\x00"), nil
		}
	}
	return "", nil
}

// parseLdd reads ldd (ld.so --list) output: "soname => path (addr)", a bare
// "path (addr)" for the loader, "soname => not found".
func parseLdd(out string) (libs, missing []string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, target, arrow := strings.Cut(line, " => ")
		if !arrow {
			target = name
		}
		target = strings.TrimSpace(target)
		if strings.HasPrefix(target, "not found") {
			missing = append(missing, strings.TrimSpace(name))
			continue
		}
		if i := strings.LastIndex(target, " ("); i >= 0 {
			target = target[:i]
		}
		if strings.HasPrefix(target, "/") {
			libs = append(libs, target)
		}
	}
	return libs, missing
}

// resolveIn follows symlinks of p as if root were "/", so an absolute
// link in a package (/lib64/ld-linux-x86-64.so.2 -> /lib/...) stays inside
// the tree. It returns the real file's path on the host.
func resolveIn(root, p string) (string, error) {
	cur := path.Clean(p)
	for range 40 {
		host := filepath.Join(root, filepath.FromSlash(cur))
		st, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			if !st.Mode().IsRegular() {
				return "", fmt.Errorf("%s is not a regular file", p)
			}
			return host, nil
		}
		t, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(cur), t)
		}
		cur = path.Clean(t)
	}
	return "", fmt.Errorf("%s: too many symlinks", p)
}

// libDirs lists the tree's directories that hold shared libraries.
func libDirs(root string) ([]string, error) {
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".so") {
			seen[filepath.Dir(p)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// contentKey hashes every file's path and bytes.
func contentKey(files []closureFile) (string, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f.src)
		if err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		s := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %x\n", f.path, s)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// aptAnswers returns the package set of pkgs and its .deb hashes. apt gives
// the same answers until its index changes, and each call costs ~0.5 s, so
// the answers are remembered on disk under a stamp of the index (names,
// sizes and times of the lists, sources and preferences).
func aptAnswers(ctx context.Context, cacheDir string, pkgs []string) (set []string, debs string, err error) {
	type answers struct {
		Packages []string
		Debs     string
	}
	memo := ""
	if stamp, ok := aptIndexStamp(); ok {
		memo = filepath.Join(cacheDir, "apt", hashOf("apt-answers-v1", stamp, strings.Join(pkgs, " "))+".json")
		var a answers
		if b, err := os.ReadFile(memo); err == nil && json.Unmarshal(b, &a) == nil && len(a.Packages) > 0 {
			return a.Packages, a.Debs, nil
		}
	}
	if set, err = packageSet(ctx, pkgs); err != nil {
		return nil, "", err
	}
	if debs, err = debHashes(ctx, set); err != nil {
		return nil, "", err
	}
	if memo != "" {
		b, _ := json.Marshal(answers{set, debs})
		if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
			tmp := memo + ".tmp" + strconv.Itoa(os.Getpid())
			if os.WriteFile(tmp, b, 0o644) == nil {
				os.Rename(tmp, memo)
			}
		}
	}
	return set, debs, nil
}

func aptIndexStamp() (string, bool) {
	var parts []string
	for _, pat := range []string{"/var/lib/apt/lists/*", "/etc/apt/sources.list", "/etc/apt/sources.list.d/*",
		"/etc/apt/preferences", "/etc/apt/preferences.d/*"} {
		m, _ := filepath.Glob(pat)
		for _, f := range m {
			st, err := os.Stat(f)
			if err != nil || !st.Mode().IsRegular() || filepath.Base(f) == "lock" {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %d %d", f, st.Size(), st.ModTime().UnixNano()))
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	return hashOf(parts...), true
}

// packageSet is pkgs plus, transitively, the lib* packages and the
// packages of the same source they depend on (first alternative of each
// or-group, virtual packages skipped). apt answers slowly (~0.5 s a call
// without its binary cache), so the whole graph comes from one recursive
// apt-cache depends and the sources from one apt-cache show.
func packageSet(ctx context.Context, pkgs []string) ([]string, error) {
	out, err := aptCmd(ctx, "", "apt-cache", append([]string{"depends", "--recurse", "--important"}, pkgs...)...)
	if err != nil {
		return nil, err
	}
	graph := parseDependsGraph(out)
	var others []string
	for p := range graph {
		if !strings.HasPrefix(p, "lib") {
			others = append(others, p)
		}
	}
	sort.Strings(others)
	srcs, err := sources(ctx, others)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, p := range pkgs {
		want[srcs[p]] = true
	}
	seen := map[string]bool{}
	level := pkgs
	for _, p := range pkgs {
		seen[p] = true
	}
	set := append([]string(nil), pkgs...)
	for len(level) > 0 {
		var next []string
		for _, p := range level {
			for _, d := range graph[p] {
				if seen[d] || !(strings.HasPrefix(d, "lib") || want[srcs[d]]) {
					continue
				}
				seen[d] = true
				next = append(next, d)
			}
		}
		set = append(set, next...)
		level = next
	}
	sort.Strings(set)
	return set, nil
}

// parseDependsGraph reads apt-cache depends output into package -> its
// Depends and PreDepends: the first alternative of an or-group ("|Depends:"
// then "Depends:"), no virtual package ("<name>"), no provider lines (the
// deeper-indented names under a dependency).
func parseDependsGraph(out string) map[string][]string {
	g := map[string][]string{}
	var cur string
	inOr := false
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			cur, inOr = strings.TrimSpace(line), false
			if strings.HasPrefix(cur, "<") {
				cur = "" // a virtual package's section
				continue
			}
			if _, ok := g[cur]; !ok {
				g[cur] = nil
			}
			continue
		}
		if cur == "" || strings.HasPrefix(line, "    ") {
			continue
		}
		t := strings.TrimSpace(line)
		alt := strings.HasPrefix(t, "|")
		k, v, ok := strings.Cut(strings.TrimPrefix(t, "|"), ": ")
		if !ok || (k != "Depends" && k != "PreDepends") {
			continue
		}
		first := !inOr
		inOr = alt
		v = strings.TrimSpace(v)
		if first && !strings.HasPrefix(v, "<") {
			g[cur] = append(g[cur], strings.TrimSuffix(v, ":any"))
		}
	}
	return g
}

// sources maps each package to its source package.
func sources(ctx context.Context, pkgs []string) (map[string]string, error) {
	out, err := aptCmd(ctx, "", "apt-cache", append([]string{"show", "--no-all-versions"}, pkgs...)...)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	var pkg string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Package: "); ok {
			pkg = strings.TrimSpace(v)
			m[pkg] = pkg
		} else if v, ok := strings.CutPrefix(line, "Source: "); ok && pkg != "" {
			m[pkg] = strings.Fields(v)[0]
		}
	}
	for _, p := range pkgs {
		if _, ok := m[p]; !ok {
			return nil, fmt.Errorf("image: Debian package %s not found (apt-cache show)", p)
		}
	}
	return m, nil
}

// debHashes is the content of the packages as apt's index knows it: file
// name and SHA-256 of each .deb that apt-get download would fetch.
func debHashes(ctx context.Context, pkgs []string) (string, error) {
	out, err := aptCmd(ctx, "", "apt-get", append([]string{"download", "--print-uris"}, pkgs...)...)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 4 && strings.HasPrefix(f[0], "'") {
			lines = append(lines, f[1]+" "+f[3])
		}
	}
	if len(lines) != len(pkgs) {
		return "", fmt.Errorf("image: apt-get download --print-uris listed %d of %d packages: %s", len(lines), len(pkgs), oneLine(out))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// fetchPackages downloads pkgs and unpacks each into root.
func fetchPackages(ctx context.Context, root string, pkgs []string) error {
	dl := filepath.Join(root, ".debs")
	if err := os.Mkdir(dl, 0o755); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	// apt drops privileges to _apt for downloads; that user must be able to
	// write here.
	os.Chmod(dl, 0o777)
	if _, err := aptCmd(ctx, dl, "apt-get", append([]string{"download", "-q"}, pkgs...)...); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != len(pkgs) {
		return fmt.Errorf("image: apt-get download fetched %d of %d packages", len(debs), len(pkgs))
	}
	for _, d := range debs {
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", d, root).CombinedOutput(); err != nil {
			return fmt.Errorf("image: dpkg-deb -x %s: %v: %s", filepath.Base(d), err, oneLine(string(out)))
		}
	}
	return os.RemoveAll(dl)
}

func aptCmd(ctx context.Context, dir, name string, args ...string) (string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", fmt.Errorf("image: %s is missing: Debian packages need a Debian host with apt", name)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("image: %s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(out, 3))
	}
	return string(out), nil
}
