package report

import (
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

func TestCorrectedLatencyAndLate(t *testing.T) {
	ms := int64(time.Millisecond)
	ops := []history.Op{
		// on time: 2 ms either way
		{ID: 1, F: history.FRead, Type: history.OK, Intended: 10 * ms, Call: 10 * ms, Return: 12 * ms},
		// held up 500 ms by a busy generator: vegeta sees 2 ms, the user 502 ms
		{ID: 2, F: history.FWrite, Type: history.OK, Intended: 20 * ms, Call: 520 * ms, Return: 522 * ms},
		// late by 5 ms only (under LateAfter), failed
		{ID: 3, F: history.FWrite, Type: history.Fail, Intended: 30 * ms, Call: 35 * ms, Return: 40 * ms},
		// late and never completed
		{ID: 4, F: history.FWrite, Type: history.Info, Intended: 40 * ms, Call: 100 * ms, Return: -1},
		// closed loop: no intended time
		{ID: 5, F: history.FRead, Type: history.OK, Call: 200 * ms, Return: 203 * ms},
	}
	s := Summarize(Meta{Dropped: 7}, nil, ops, nil, nil)
	if s.LatencyMS.Max != 3 || s.LatencyCorrectedMS.Max != 502 || s.LatencyCorrectedMS.Count != 3 {
		t.Errorf("latency %+v, corrected %+v", s.LatencyMS, s.LatencyCorrectedMS)
	}
	if s.Load.LatencyAllCorrectedMS.Count != 4 || s.Load.LatencyAllCorrectedMS.P50 != 3 {
		t.Errorf("all corrected %+v", s.Load.LatencyAllCorrectedMS)
	}
	if s.Load.Late != 2 || s.Load.Dropped != 7 || s.Load.LateAfterMS != 10 {
		t.Errorf("load %+v", s.Load)
	}
	if s.Load.SendDelayMS.Count != 4 || s.Load.SendDelayMS.Max != 500 {
		t.Errorf("send delay %+v", s.Load.SendDelayMS)
	}
}
