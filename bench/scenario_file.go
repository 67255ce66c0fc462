package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads a scenario file, YAML or JSON, over sc: what the file gives
// replaces sc's values, what it leaves out keeps them. Its keys are those of
// scenario.json, so a past run's scenario.json can be run again (its run
// fields are ignored). A file with a chaos timeline and no nemesis list gets
// the timeline's faults as its list. seeded says whether the file fixed the
// seed. Every error is a *ConfigError.
//
//	seed: 42
//	cluster: {target: etcd, nodes: 5}
//	load: {duration: 60s, rate: "300"}
//	chaos:
//	  quiet: 5s
//	  timeline:
//	    - {at: 10s, for: 10s, fault: partition-halves}
//	    - {at: 30s, for: 5s, fault: kill-leader}
func LoadFile(path string, sc *Scenario) (seeded bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, configErr("--scenario: %v", err)
	}
	js := b
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".json" {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return false, configErr("--scenario %s: %v", path, err)
		}
		if js, err = json.Marshal(v); err != nil {
			return false, configErr("--scenario %s: %v", path, err)
		}
	}
	var top struct {
		Seed  json.RawMessage `json:"seed"`
		Chaos struct {
			Nemesis  json.RawMessage `json:"nemesis"`
			Timeline json.RawMessage `json:"timeline"`
		} `json:"chaos"`
		Cluster struct {
			Target json.RawMessage `json:"target"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal(js, &top); err != nil {
		return false, configErr("--scenario %s: %v", path, err)
	}
	info := RunInfo{Scenario: *sc}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		return false, configErr("--scenario %s: %v", path, err)
	}
	*sc = info.Scenario
	sc.Cluster.fromFile(filepath.Dir(path), top.Cluster.Target != nil)
	if top.Chaos.Timeline != nil && top.Chaos.Nemesis == nil {
		sc.Chaos.Nemesis = sc.Chaos.timelineKinds()
	}
	return top.Seed != nil, nil
}
