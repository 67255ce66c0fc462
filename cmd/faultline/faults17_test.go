package main

// signalNemeses are the faults TestKill9ThenClean and
// TestSIGINTLeavesNothingAndKeepsTheHistory put in place before the signal:
// those of issue 17 that keep something running or set (packet readers and
// queue rules, a node's cgroup limits), which must leave nothing after
// Ctrl-C, nor after kill -9 of faultline and `faultline clean`. (A partition
// was a third signal run each; its heal on cancel is chaos's
// TestCancelHeals, and what a killed or interrupted run must not leave is
// the same whichever fault is on.)
var signalNemeses = []string{"packet:delay=20ms,loss=5", "slow-cpu:quota=20%,node=n1"}
