package docker

import (
	"context"
	"fmt"
	"syscall"

	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/faultline/faultline/targets/runtime"
)

var _ runtime.Throttler = (*node)(nil)

// Throttle updates the container's cgroup limits through the engine
// (docker update): a CPU quota, and read/write bandwidth on the device of
// Docker's data root. Zero Limits lift both.
func (n *node) Throttle(ctx context.Context, l runtime.Limits) (string, error) {
	const period = 100000
	res := &container.Resources{}
	var how []string
	if l == (runtime.Limits{}) {
		// -1 is "no quota"; 0 would mean "leave as is".
		res.CPUPeriod, res.CPUQuota = period, -1
		if runtime.CgroupV2() {
			dev, err := n.dataDevice(ctx)
			if err != nil {
				return "", err
			}
			res.BlkioDeviceReadBps = []*blkiodev.ThrottleDevice{{Path: dev, Rate: 0}}
			res.BlkioDeviceWriteBps = []*blkiodev.ThrottleDevice{{Path: dev, Rate: 0}}
		}
		how = append(how, "limits lifted")
	}
	if l.CPUPercent > 0 {
		res.CPUPeriod, res.CPUQuota = period, int64(max(1000, period*l.CPUPercent/100))
		how = append(how, fmt.Sprintf("CPU quota %dµs of %dµs", res.CPUQuota, period))
	}
	if l.IOBytesPerSec > 0 {
		if !runtime.CgroupV2() {
			return "", runtime.ErrNoIOLimit
		}
		dev, err := n.dataDevice(ctx)
		if err != nil {
			return "", err
		}
		r := uint64(l.IOBytesPerSec)
		res.BlkioDeviceReadBps = []*blkiodev.ThrottleDevice{{Path: dev, Rate: r}}
		res.BlkioDeviceWriteBps = []*blkiodev.ThrottleDevice{{Path: dev, Rate: r}}
		how = append(how, fmt.Sprintf("read and write %d B/s on %s", r, dev))
	}
	if _, err := n.cli.ContainerUpdate(ctx, n.id, client.ContainerUpdateOptions{Resources: res}); err != nil {
		return "", fmt.Errorf("throttle %s (docker update): %w", n.name, err)
	}
	return fmt.Sprintf("docker update of container %.12s: %v", n.id, how), nil
}

// dataDevice is the block device that holds Docker's data root, where the
// container's files are (the daemon runs on this host: it is the one
// whose namespaces Faultline enters).
func (n *node) dataDevice(ctx context.Context) (string, error) {
	info, err := n.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", fmt.Errorf("docker info: %w", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(info.Info.DockerRootDir, &st); err != nil {
		return "", fmt.Errorf("find the device of Docker's data root: %w", err)
	}
	maj, mnr := unix.Major(st.Dev), unix.Minor(st.Dev)
	if maj == 0 {
		return "", fmt.Errorf("docker's data root %s is not on a block device (%d:%d): io limits cannot slow it", info.Info.DockerRootDir, maj, mnr)
	}
	return fmt.Sprintf("/dev/block/%d:%d", maj, mnr), nil
}
