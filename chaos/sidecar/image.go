package sidecar

import (
	"context"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
	"github.com/faultline/faultline/targets/runtime/docker"
)

// AgentPackage is the agent's main package.
const AgentPackage = "github.com/faultline/faultline/chaos/sidecar/agent"

// BuildImage compiles the agent from the source tree (dir, or the working
// directory when empty) and wraps it in an image FROM scratch; nothing is
// pulled. The image is reused while the agent's binary is unchanged.
func BuildImage(ctx context.Context, rt *docker.Runtime, dir, cacheDir string) (string, error) {
	bin, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: "faultline-agent", Package: AgentPackage, Dir: dir, CacheDir: cacheDir})
	if err != nil {
		return "", err
	}
	return rt.Image(ctx, "faultline-agent", targets.Artifact{Version: "local", Binary: bin})
}
