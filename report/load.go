package report

import (
	"github.com/faultline/faultline/history"
)

// LoadSummary is what the load generator managed: in an open loop, how far
// behind its schedule requests left, and what it never sent.
type LoadSummary struct {
	// LatencyAllCorrectedMS is latency_all_ms measured from the intended send
	// times (latency_corrected_ms is the same for operations that were ok).
	LatencyAllCorrectedMS Latency `json:"latency_all_corrected_ms"`
	// SendDelayMS is how long after its intended time each request left.
	SendDelayMS Latency `json:"send_delay_ms"`
	// Late requests left more than LateAfterMS after their intended time.
	Late        int     `json:"late"`
	LateAfterMS float64 `json:"late_after_ms"`
	// Dropped requests were scheduled but never sent (the generator's count,
	// from scenario.json: the history only holds what was sent).
	Dropped int64 `json:"dropped"`
}

// summarizeLoad measures latency from each operation's intended send time,
// as wrk2 does, so that a stalled target cannot hide behind a generator that
// stopped sending (coordinated omission). Operations without an intended
// time (closed loop) are measured from their invoke, as vegeta does.
func summarizeLoad(ops []history.Op, dropped int64) (correctedOK Latency, s LoadSummary) {
	var okLat, allLat, delays []float64
	for _, op := range ops {
		from := op.Call
		if op.Intended > 0 {
			from = min(op.Intended, op.Call)
			delay := op.Call - from
			delays = append(delays, float64(delay)/1e6)
			if delay > int64(history.LateAfter) {
				s.Late++
			}
		}
		if op.Return < 0 {
			continue
		}
		ms := float64(op.Return-from) / 1e6
		allLat = append(allLat, ms)
		if op.Type == history.OK {
			okLat = append(okLat, ms)
		}
	}
	s.LatencyAllCorrectedMS, s.SendDelayMS = Percentiles(allLat), Percentiles(delays)
	s.LateAfterMS = float64(history.LateAfter) / 1e6
	s.Dropped = dropped
	return Percentiles(okLat), s
}
