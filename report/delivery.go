package report

import (
	"encoding/json"
	"math"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/delivery"
)

// deliveryKey is the Details field under which the queue and log checkers
// (checkers/queue, checkers/stream) report their delivery latency.
const deliveryKey = "delivery_latency"

// DeliveryOf is the delivery-latency measurement of a queue or log run:
// the first check whose Details carry one (preferring one that measured
// some message), nil when none does. It reads the checks' JSON form, so a
// fresh run's results and a stored summary.json give the same answer, and
// the report needs no checker but the measurement's type.
func DeliveryOf(checks []checkers.Result) (checker string, m *delivery.Measurement) {
	for _, c := range checks {
		if c.Details == nil {
			continue
		}
		b, err := json.Marshal(c.Details)
		if err != nil {
			continue
		}
		var d map[string]json.RawMessage
		if json.Unmarshal(b, &d) != nil || d[deliveryKey] == nil {
			continue
		}
		var got delivery.Measurement
		if json.Unmarshal(d[deliveryKey], &got) != nil {
			continue
		}
		if m == nil || (m.Overall.Count == 0 && got.Overall.Count > 0) {
			checker, m = c.Checker, &got
		}
	}
	return checker, m
}

// DeliveryFigures are a run's delivery figures as the matrix shows them:
// latencies in ms, NaN where no message fell in that class (no fault
// window: no message waited through one).
type DeliveryFigures struct {
	Checker string
	// Delivered is the messages a consumer received during the load, PerS
	// the same per second of the run.
	Delivered          int
	PerS               float64
	P50, P99           float64
	P50Out, P99Out     float64
	P50In, P99In       float64
	CountOut, CountIn  int
	Undelivered, Final int
}

func deliveryFigures(checker string, m *delivery.Measurement, durationS float64) *DeliveryFigures {
	if m == nil {
		return nil
	}
	nan := math.NaN()
	f := &DeliveryFigures{Checker: checker, Delivered: m.Overall.Count, P50: nan, P99: nan, P50Out: nan, P99Out: nan, P50In: nan, P99In: nan,
		CountOut: m.Outside.Count, CountIn: m.During.Count, Undelivered: m.Undelivered, Final: m.FinalOnly}
	if durationS > 0 {
		f.PerS = round(float64(m.Overall.Count) / durationS)
	}
	if m.Overall.Count > 0 {
		f.P50, f.P99 = m.Overall.P50, m.Overall.P99
	}
	if m.Outside.Count > 0 {
		f.P50Out, f.P99Out = m.Outside.P50, m.Outside.P99
	}
	if m.During.Count > 0 {
		f.P50In, f.P99In = m.During.P50, m.During.P99
	}
	return f
}
