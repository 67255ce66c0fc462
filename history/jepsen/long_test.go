//go:build long

package jepsen_test

// allRunVerdicts: under the long tag TestPorcupineEtcdRunVerdicts checks
// all 23 linearizable logs as runs.
const allRunVerdicts = true
