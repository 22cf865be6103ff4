package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/shape"
)

const shapeUsers = "users:\n  - class: A\n    tasks: [{request: {path: /}}]\n  - class: B\n    tasks: [{request: {path: /}}]\n"

func parseShape(t *testing.T, yml string) *shape.Shape {
	t.Helper()
	sc, err := Parse("scenario.yaml", []byte(shapeUsers+yml))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Shape == nil {
		t.Fatal("no shape")
	}
	return sc.Shape
}

func TestParseShapeStages(t *testing.T) {
	t.Parallel()
	s := parseShape(t, `shape:
  stages:
    - {duration: 10s, users: 10, spawn_rate: 10}
    - {duration: 20, users: 30, spawn_rate: 5, classes: [A], name: peak}
    - {end: 1m, users: 5, spawn_rate: 2.5}
`)
	if s.Name != "StagesShape" || s.UseCommonOptions || len(s.Plan) != 3 {
		t.Fatalf("shape %+v", s)
	}
	want := []shape.Stage{{End: 10 * time.Second, Users: 10, SpawnRate: 10},
		{End: 30 * time.Second, Users: 30, SpawnRate: 5, Classes: []string{"A"}, Name: "peak"},
		{End: time.Minute, Users: 5, SpawnRate: 2.5}}
	for i, w := range want {
		g := s.Plan[i]
		if g.End != w.End || g.Users != w.Users || g.SpawnRate != w.SpawnRate || g.Name != w.Name || strings.Join(g.Classes, ",") != strings.Join(w.Classes, ",") {
			t.Errorf("stage %d: %+v, want %+v", i, g, w)
		}
	}
	if tg, ok := s.Tick(shape.Status{Elapsed: 15 * time.Second}); !ok || tg.Users != 30 || tg.Stage != "peak" {
		t.Errorf("tick at 15 s: %+v", tg)
	}
}

func TestParseShapeForms(t *testing.T) {
	t.Parallel()
	s := parseShape(t, "shape:\n  name: Steps\n  step: {users: 10, every: 30s, spawn_rate: 10, duration: 2m, max_users: 25}\n")
	if s.Name != "Steps" || len(s.Plan) != 4 || s.Plan[3].Users != 25 {
		t.Errorf("step: %+v", s.Plan)
	}
	s = parseShape(t, "shape:\n  spike: {base_users: 5, spike_users: 50, at: 1m, hold: 30s, spawn_rate: 20, duration: 3m}\n")
	if s.Name != "SpikeShape" || len(s.Plan) != 3 || s.Plan[1].Users != 50 || s.Plan[2].End != 3*time.Minute {
		t.Errorf("spike: %+v", s.Plan)
	}
	s = parseShape(t, "shape:\n  use_common_options: true\n  stages: [{duration: 1m}, {duration: 1m, users: 2}]\n")
	tg, _ := s.Tick(shape.Status{Elapsed: time.Second, Common: shape.Common{Users: 9, UsersSet: true, SpawnRate: 3, SpawnRateSet: true}})
	if !s.UseCommonOptions || tg.Users != 9 || tg.SpawnRate != 3 {
		t.Errorf("use_common_options: %+v", tg)
	}
	s = parseShape(t, "shape:\n  use_common_options: true\n  step: {users: 1, every: 1s, duration: 3s}\n")
	if tg, _ := s.Tick(shape.Status{Common: shape.Common{SpawnRate: 4, SpawnRateSet: true}}); tg.SpawnRate != 4 {
		t.Errorf("step with -r: %+v", tg)
	}
}

func TestParseShapeGo(t *testing.T) {
	// Not parallel: registers a shape.
	wave := &shape.Shape{Name: "TestParseWave", Tick: func(shape.Status) (shape.Target, bool) { return shape.Target{}, false }}
	shape.Register(wave)
	if s := parseShape(t, "shape: {go: TestParseWave}\n"); s != wave {
		t.Errorf("go shape: %+v", s)
	}
	// A shape or class this program lacks is the master's problem only: a
	// worker binary need not have the master's Go code.
	sc, err := Parse("scenario.yaml", []byte(shapeUsers+"shape: {go: Nope}\n"))
	if err != nil || sc.Shape != nil || sc.ShapeErr == nil ||
		!strings.HasPrefix(sc.ShapeErr.Error(), `scenario.yaml:6: shape.go: no Go shape "Nope" is registered (registered: `) ||
		!strings.Contains(sc.ShapeErr.Error(), "TestParseWave") {
		t.Errorf("unknown Go shape: %v, %v", err, sc.ShapeErr)
	}
	sc, err = Parse("scenario.yaml", []byte(shapeUsers+"shape:\n  stages:\n    - duration: 1\n      users: 1\n      spawn_rate: 1\n      classes: [A, C]\n"))
	if err != nil || sc.Shape == nil || sc.ShapeErr == nil ||
		sc.ShapeErr.Error() != `scenario.yaml:11: shape.stages[0].classes: unknown user class "C"` {
		t.Errorf("unknown stage class: %v, %v", err, sc.ShapeErr)
	}
}

// TestParseShapeErrors: every shape key's bad values are errors naming the
// file, the line and the key.
func TestParseShapeErrors(t *testing.T) {
	t.Parallel()
	checkErrors(t, []errCase{
		{"not a mapping", "shape: 3\n", "scenario.yaml:6: shape: expected a mapping"},
		{"no form", "shape: {name: x}\n", "scenario.yaml:6: shape: one of stages, step, spike, go is required"},
		{"two forms", "shape:\n  stages: [{duration: 1, users: 1, spawn_rate: 1}]\n  step: {users: 1, every: 1, spawn_rate: 1, duration: 2}\n",
			"scenario.yaml:8: shape.step: a shape has one of stages, step, spike, go; this one already has stages"},
		{"unknown key", "shape:\n  stagez: []\n", `scenario.yaml:7: shape: unknown key "stagez" (want name, use_common_options, stages, step, spike, go)`},
		{"empty name", "shape:\n  name: \"\"\n  stages: [{duration: 1, users: 1, spawn_rate: 1}]\n", "scenario.yaml:7: shape.name: must not be empty"},
		{"common type", "shape:\n  use_common_options: yes please\n  stages: []\n", "scenario.yaml:7: shape.use_common_options: expected true or false"},
		{"stages type", "shape:\n  stages: {a: 1}\n", "scenario.yaml:7: shape.stages: expected a list"},
		{"no stages", "shape:\n  stages: []\n", "scenario.yaml:7: shape.stages: at least one stage is required"},
		{"stage type", "shape:\n  stages: [3]\n", "scenario.yaml:7: shape.stages[0]: expected a mapping"},
		{"stage key", "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: 1, user: 2}\n",
			`scenario.yaml:8: shape.stages[0]: unknown key "user" (want name, duration, end, users, spawn_rate, classes)`},
		{"no end", "shape:\n  stages:\n    - {users: 1, spawn_rate: 1}\n", "scenario.yaml:8: shape.stages[0]: a stage needs a duration or an end"},
		{"both ends", "shape:\n  stages:\n    - {duration: 1, end: 2, users: 1, spawn_rate: 1}\n",
			"scenario.yaml:8: shape.stages[0]: a stage has a duration or an end, not both"},
		{"bad duration", "shape:\n  stages:\n    - {duration: soon, users: 1, spawn_rate: 1}\n",
			`scenario.yaml:8: shape.stages[0].duration: invalid duration "soon"`},
		{"zero duration", "shape:\n  stages:\n    - {duration: 0, users: 1, spawn_rate: 1}\n",
			"scenario.yaml:8: shape.stages[0].duration: must be greater than 0"},
		{"end not after", "shape:\n  stages:\n    - {end: 10, users: 1, spawn_rate: 1}\n    - {end: 5s, users: 1, spawn_rate: 1}\n",
			"scenario.yaml:9: shape.stages[1].end: must be after the previous stage's end 10s (got 5s)"},
		{"users negative", "shape:\n  stages:\n    - {duration: 1, users: -1, spawn_rate: 1}\n",
			"scenario.yaml:8: shape.stages[0].users: expected an integer in [0, 1073741824], got -1"},
		{"users float", "shape:\n  stages:\n    - {duration: 1, users: 1.5, spawn_rate: 1}\n", "scenario.yaml:8: shape.stages[0].users: expected an integer"},
		{"users missing", "shape:\n  stages:\n    - {duration: 1, spawn_rate: 1}\n",
			"scenario.yaml:8: shape.stages[0].users: required (or use_common_options: true to take -u)"},
		{"rate missing", "shape:\n  stages:\n    - {duration: 1, users: 1}\n",
			"scenario.yaml:8: shape.stages[0].spawn_rate: required (or use_common_options: true to take -r)"},
		{"rate zero", "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: 0}\n",
			"scenario.yaml:8: shape.stages[0].spawn_rate: must be a positive number of users per second, got 0"},
		{"rate type", "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: fast}\n", "scenario.yaml:8: shape.stages[0].spawn_rate: expected a number"},
		{"classes type", "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: 1, classes: A}\n",
			"scenario.yaml:8: shape.stages[0].classes: expected a list"},
		{"dup class", "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: 1, classes: [A, A]}\n",
			"scenario.yaml:8: shape.stages[0].classes: class names must be given once each and not be empty"},
		{"step missing", "shape:\n  step: {users: 1, spawn_rate: 1, duration: 5}\n", "scenario.yaml:7: shape.step.every: required"},
		{"step rate", "shape:\n  step: {users: 1, every: 1, duration: 5}\n",
			"scenario.yaml:7: shape.step.spawn_rate: required (or use_common_options: true to take -r)"},
		{"step users", "shape:\n  step: {users: 0, every: 1, spawn_rate: 1, duration: 5}\n",
			"scenario.yaml:7: shape.step.users: expected an integer in [1, 1073741824], got 0"},
		{"step key", "shape:\n  step: {users: 1, every: 1, spawn_rate: 1, duration: 5, limit: 3}\n",
			`scenario.yaml:7: shape.step: unknown key "limit" (want users, every, spawn_rate, duration, max_users)`},
		{"step too many", "shape:\n  step: {users: 1, every: 0.001, spawn_rate: 1, duration: 1000}\n",
			"scenario.yaml:7: shape.step: more than 100000 steps (duration / every)"},
		{"spike missing", "shape:\n  spike: {spike_users: 5, hold: 1, spawn_rate: 1, duration: 5}\n", "scenario.yaml:7: shape.spike.at: required"},
		{"spike order", "shape:\n  spike: {spike_users: 5, at: 4, hold: 2, spawn_rate: 1, duration: 5}\n",
			"scenario.yaml:7: shape.spike: duration 5s ends before the spike does (at 4s + hold 2s)"},
		{"spike hold", "shape:\n  spike: {spike_users: 5, at: 1, hold: 0, spawn_rate: 1, duration: 5}\n",
			"scenario.yaml:7: shape.spike.hold: must be greater than 0"},
		{"stage name", "shape:\n  stages:\n    - {duration: 1, users: 1, spawn_rate: 1, name: [x]}\n", "scenario.yaml:8: shape.stages[0].name: expected a string"},
		{"bad end", "shape:\n  stages:\n    - {end: -5, users: 1, spawn_rate: 1}\n", "scenario.yaml:8: shape.stages[0].end: invalid duration -5"},
		{"step every", "shape:\n  step: {users: 1, every: 0, spawn_rate: 1, duration: 5}\n", "scenario.yaml:7: shape.step.every: must be greater than 0"},
		{"step duration", "shape:\n  step: {users: 1, every: 1, spawn_rate: 1, duration: 5 minutes}\n",
			`scenario.yaml:7: shape.step.duration: invalid duration "5 minutes"`},
		{"step max", "shape:\n  step: {users: 1, every: 1, spawn_rate: 1, duration: 5, max_users: -3}\n",
			"scenario.yaml:7: shape.step.max_users: expected an integer in [0, 1073741824], got -3"},
		{"step rate type", "shape:\n  step: {users: 1, every: 1, spawn_rate: [1], duration: 5}\n", "scenario.yaml:7: shape.step.spawn_rate: expected a number"},
		{"spike base", "shape:\n  spike: {base_users: -1, spike_users: 5, at: 1, hold: 1, spawn_rate: 1, duration: 5}\n",
			"scenario.yaml:7: shape.spike.base_users: expected an integer in [0, 1073741824], got -1"},
		{"spike users type", "shape:\n  spike: {spike_users: many, at: 1, hold: 1, spawn_rate: 1, duration: 5}\n",
			"scenario.yaml:7: shape.spike.spike_users: expected an integer"},
		{"spike at", "shape:\n  spike: {spike_users: 5, at: -1, hold: 1, spawn_rate: 1, duration: 5}\n", "scenario.yaml:7: shape.spike.at: invalid duration -1"},
		{"spike rate", "shape:\n  spike: {spike_users: 5, at: 1, hold: 1, spawn_rate: 0, duration: 5}\n",
			"scenario.yaml:7: shape.spike.spawn_rate: must be a positive number of users per second, got 0"},
		{"spike duration", "shape:\n  spike: {spike_users: 5, at: 1, hold: 1, spawn_rate: 1, duration: 0}\n",
			"scenario.yaml:7: shape.spike.duration: must be greater than 0"},
		{"spike key", "shape:\n  spike: {spike_users: 5, at: 1, hold: 1, spawn_rate: 1, duration: 5, base: 1}\n",
			`scenario.yaml:7: shape.spike: unknown key "base" (want base_users, spike_users, at, hold, spawn_rate, duration)`},
		{"go name", "shape: {go: X, name: Y}\n", "scenario.yaml:6: shape.name: a Go shape is named by its registration"},
		{"go type", "shape: {go: [a]}\n", "scenario.yaml:6: shape.go: expected a string"},
		{"go empty", "shape: {go: \"\"}\n", "scenario.yaml:6: shape.go: must name a registered Go shape"},
		{"go with common", "shape: {go: X, use_common_options: true}\n", "scenario.yaml:6: shape.use_common_options: a Go shape sets UseCommonOptions itself"},
	})
}
