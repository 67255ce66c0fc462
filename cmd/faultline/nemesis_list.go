package main

import "github.com/faultline/faultline/chaos"

// splitNemesis splits a --nemesis list at commas, except those inside a
// fault's own parameters: "delay:ms=50,jitter=10ms,kill" is two faults
// (chaos.SplitList, which scenario files' lists go through too).
func splitNemesis(s string) []string { return chaos.SplitList(s) }
