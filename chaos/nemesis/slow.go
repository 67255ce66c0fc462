package nemesis

import (
	"os"

	"github.com/faultline/faultline/chaos"
)

// checkSlow refuses faults that can tell at plan time that they cannot
// work on this run's runtime (slow-io on cgroup v1, slow-cpu on the local
// runtime without root).
func checkSlow(c Config, np *Plan) error {
	info := chaos.PlanInfo{Runtime: c.Runtime, Root: os.Geteuid() == 0}
	for _, f := range np.faults {
		if pc, ok := f.(chaos.PlanChecker); ok {
			if err := pc.CheckPlan(info); err != nil {
				return refuse("%v", err)
			}
		}
	}
	return nil
}
