package image

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Debian returns an image of Debian packages FROM the base (built first if
// needed): `apt-get install --no-install-recommends pkgs`, then the extra
// files (WithFile) and commands (WithRun). The engine's build containers
// reach the mirror from its default bridge. The tag is the hash of the base
// tag, the packages and the extras; the repository is faultline/debian-<first
// package> unless WithName says otherwise.
func Debian(ctx context.Context, pkgs []string, opts ...Option) (Ref, error) {
	pkgs = dedupSorted(pkgs)
	if len(pkgs) == 0 {
		return Ref{}, errors.New("image: Debian needs at least one package")
	}
	for _, p := range pkgs {
		if strings.ContainsAny(p, " \t\n'\"$;&|`\\") {
			return Ref{}, fmt.Errorf("image: %q is not a Debian package name", p)
		}
	}
	c, err := newConfig(opts)
	if err != nil {
		return Ref{}, err
	}
	cli, err := engine(ctx)
	if err != nil {
		return Ref{}, err
	}
	defer cli.Close()
	b, err := base(ctx, cli, c)
	if err != nil {
		return Ref{}, err
	}
	df := debianDockerfile(b.Tag, pkgs, c)
	name := c.name
	if name == "" {
		name = "debian-" + pkgs[0]
	}
	ref := "faultline/" + repoName(name) + ":" + hashOf("debian-v1", b.Tag, df, filesKey(c.files))
	r, err := once(ctx, cli, c, ref, func() error {
		c.log("building %s: apt-get install %s (first time only)", ref, strings.Join(pkgs, " "))
		bc, err := newBuildContext(df)
		if err != nil {
			return err
		}
		for _, f := range c.files {
			if err := bc.add("files"+f.Path, f.Data, f.Mode); err != nil {
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

// debianDockerfile is the whole recipe, so it is also what the tag hashes.
func debianDockerfile(base string, pkgs []string, c *config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", base)
	b.WriteString("ENV DEBIAN_FRONTEND=noninteractive\n")
	fmt.Fprintf(&b, "RUN apt-get update && apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin\n",
		strings.Join(pkgs, " "))
	if len(c.files) > 0 {
		b.WriteString("COPY files/ /\n")
	}
	for _, r := range c.run {
		fmt.Fprintf(&b, "RUN %s\n", strings.ReplaceAll(r, "\n", " \\\n"))
	}
	if len(c.entrypoint) > 0 {
		fmt.Fprintf(&b, "ENTRYPOINT %s\n", jsonArgs(c.entrypoint))
	}
	if len(c.cmd) > 0 {
		fmt.Fprintf(&b, "CMD %s\n", jsonArgs(c.cmd))
	}
	return b.String()
}
