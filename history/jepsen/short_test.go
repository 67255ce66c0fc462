//go:build !long

package jepsen_test

// allRunVerdicts is false in `make test`: TestPorcupineEtcdRunVerdicts
// checks the first runVerdictsShort linearizable logs as runs (each a whole
// check with its report); TestPorcupineEtcdHistories still gives the
// linearizability checker's verdict on all 102.
const allRunVerdicts = false
