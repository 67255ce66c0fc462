package report

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/faultline/faultline/checkers"

	"github.com/faultline/faultline/internal/safefile"
)

// JUnitFile is the CI gate's view of a run: one test case per checker.
const JUnitFile = "junit.xml"

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Time     string          `xml:"time,attr"`
	Props    []junitProperty `xml:"properties>property,omitempty"`
	Cases    []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// JUnit renders s as JUnit XML. An invalid verdict is a failure; an unknown
// verdict is an error (it must not pass a CI gate); a check that did not
// apply is skipped; an infrastructure error that cut the run short is an
// error of its own test case.
func JUnit(s Summary) ([]byte, error) {
	name := s.Name
	if name == "" {
		name = s.Target + "-" + strings.Join(s.Nemesis, "+")
	}
	suite := junitSuite{Name: "faultline." + name, Time: fmt.Sprintf("%.3f", s.DurationS),
		Props: []junitProperty{
			{Name: "run_id", Value: s.RunID}, {Name: "target", Value: s.Target},
			{Name: "target_version", Value: s.TargetVersion}, {Name: "verdict", Value: string(s.Verdict)},
		}}
	class := "faultline." + s.Target
	for _, c := range s.Checks {
		tc := junitCase{Name: c.Checker, Classname: class, Time: fmt.Sprintf("%.3f", float64(c.ElapsedMS)/1000), SystemOut: c.Summary}
		switch c.Verdict {
		case checkers.Valid:
		case checkers.Skipped:
			tc.Skipped = &junitMessage{Message: c.Summary, Type: "skipped"}
		case checkers.Invalid:
			tc.Failure = &junitMessage{Message: c.Summary, Type: "invalid", Body: c.Explanation}
			suite.Failures++
		default:
			tc.Error = &junitMessage{Message: "verdict unknown: " + c.Summary, Type: "unknown"}
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if s.Error != "" || s.Interrupted {
		msg := s.Error
		if msg == "" {
			msg = "the run was interrupted"
		}
		suite.Cases = append(suite.Cases, junitCase{Name: "run", Classname: class, Time: "0",
			Error: &junitMessage{Message: msg, Type: "infrastructure"}})
		suite.Errors++
	}
	suite.Tests = len(suite.Cases)
	b, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{suite}}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// WriteJUnit writes junit.xml into dir.
func WriteJUnit(dir string, s Summary) error {
	b, err := JUnit(s)
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(dir, JUnitFile, b, 0o644); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}
