//go:build long

package chaos_test

import (
	"slices"
	"testing"

	"github.com/faultline/faultline/chaos"
)

// TestEveryFaultLeavesNothing is TestFaultsLeaveNothing for every fault of
// the catalogue (about 15 minutes; faults this machine cannot have are
// refused with exit 3 and checked all the same).
func TestEveryFaultLeavesNothing(t *testing.T) {
	names := slices.DeleteFunc(chaos.Names(), func(n string) bool { return n == "none" })
	leftoverCases(t, names)
}
