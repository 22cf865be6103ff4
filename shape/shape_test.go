package shape

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// TestStagesLikeLocust checks the stages shape against Locust's StagesShape
// example: the first stage whose end is after the elapsed time, None (the
// end) from the last end on.
func TestStagesLikeLocust(t *testing.T) {
	t.Parallel()
	s, err := Stages("StagesShape", false, []Stage{
		{End: sec(10), Users: 10, SpawnRate: 10},
		{End: sec(30), Users: 30, SpawnRate: 5, Name: "peak"},
		{End: sec(40), Users: 5, SpawnRate: 5, Classes: []string{"A"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at    float64
		users int
		rate  float64
		stage string
		next  float64
		ended bool
	}{
		{0, 10, 10, "stage 1/3", 10, false},
		{9.99, 10, 10, "stage 1/3", 10, false},
		{10, 30, 5, "peak", 30, false},
		{29.5, 30, 5, "peak", 30, false},
		{30, 5, 5, "stage 3/3", 40, false},
		{39.999, 5, 5, "stage 3/3", 40, false},
		{40, 0, 0, "", 0, true},
		{1e6, 0, 0, "", 0, true},
	} {
		got, ok := s.Tick(Status{Elapsed: sec(tc.at)})
		if ok == tc.ended {
			t.Errorf("at %vs: ended %v, want %v", tc.at, !ok, tc.ended)
			continue
		}
		if !ok {
			continue
		}
		if got.Users != tc.users || got.SpawnRate != tc.rate || got.Stage != tc.stage || got.NextChange != sec(tc.next) {
			t.Errorf("at %vs: got %+v, want %d users at %v, stage %q, next %vs", tc.at, got, tc.users, tc.rate, tc.stage, tc.next)
		}
	}
	if got, _ := s.Tick(Status{Elapsed: sec(35)}); len(got.Classes) != 1 || got.Classes[0] != "A" || got.StageIndex != 3 || got.Stages != 3 {
		t.Errorf("third stage: %+v", got)
	}
}

// TestStagesCommonOptions: with use_common_options a stage may take -u and
// -r, and -t ends the shape early; without, -t is not the shape's business.
func TestStagesCommonOptions(t *testing.T) {
	t.Parallel()
	stages := []Stage{{End: sec(10), Users: FromOptions}, {End: sec(20), Users: 4, SpawnRate: 2}}
	s, err := Stages("x", true, stages)
	if err != nil {
		t.Fatal(err)
	}
	common := Common{Users: 7, UsersSet: true, SpawnRate: 3.5, SpawnRateSet: true, RunTime: sec(15)}
	if got, ok := s.Tick(Status{Elapsed: sec(1), Common: common}); !ok || got.Users != 7 || got.SpawnRate != 3.5 {
		t.Errorf("-u/-r stage: %+v %v", got, ok)
	}
	if got, ok := s.Tick(Status{Elapsed: sec(12), Common: common}); !ok || got.NextChange != sec(15) {
		t.Errorf("next change must be -t: %+v %v", got, ok)
	}
	if _, ok := s.Tick(Status{Elapsed: sec(15), Common: common}); ok {
		t.Error("-t did not end the shape")
	}
	if got, ok := s.Tick(Status{Elapsed: sec(1)}); !ok || got.Users != 1 || got.SpawnRate != 1 {
		t.Errorf("no -u/-r given: want Locust's headless defaults 1 and 1, got %+v", got)
	}
	if _, err := Stages("x", false, stages); err == nil {
		t.Error("users from -u accepted without use_common_options")
	}
	noCommon, _ := Stages("y", false, stages[1:])
	if _, ok := noCommon.Tick(Status{Elapsed: sec(16), Common: common}); !ok {
		t.Error("-t ended a shape that does not use the common options")
	}
}

func TestCheckStagesErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stages []Stage
		common bool
		field  string
		index  int
	}{
		{[]Stage{{End: 0, Users: 1, SpawnRate: 1}}, false, "end", 0},
		{[]Stage{{End: sec(5), Users: 1, SpawnRate: 1}, {End: sec(5), Users: 1, SpawnRate: 1}}, false, "end", 1},
		{[]Stage{{End: sec(5), Users: -2, SpawnRate: 1}}, true, "users", 0},
		{[]Stage{{End: sec(5), Users: 1}}, false, "spawn_rate", 0},
		{[]Stage{{End: sec(5), Users: 1, SpawnRate: -1}}, true, "spawn_rate", 0},
		{[]Stage{{End: sec(5), Users: 1, SpawnRate: 1, Classes: []string{"A", "A"}}}, false, "classes", 0},
	} {
		err := CheckStages(tc.common, tc.stages)
		var se *StageError
		if !errors.As(err, &se) || se.Field != tc.field || se.Index != tc.index {
			t.Errorf("%+v: got %v, want an error on stages[%d].%s", tc.stages, err, tc.index, tc.field)
		}
	}
	if err := CheckStages(false, nil); err == nil {
		t.Error("no stages accepted")
	}
}

func TestStepAndSpike(t *testing.T) {
	t.Parallel()
	st, err := Step{StepUsers: 10, Every: sec(30), SpawnRate: 10, Duration: sec(100), MaxUsers: 35}.Stages()
	if err != nil {
		t.Fatal(err)
	}
	want := []Stage{{End: sec(30), Users: 10}, {End: sec(60), Users: 20}, {End: sec(90), Users: 30}, {End: sec(100), Users: 35}}
	if len(st) != len(want) {
		t.Fatalf("step stages %+v", st)
	}
	for i := range want {
		if st[i].End != want[i].End || st[i].Users != want[i].Users || st[i].SpawnRate != 10 {
			t.Errorf("step stage %d: %+v, want %+v", i, st[i], want[i])
		}
	}
	// Locust's StepLoadShape: floor(run_time / step_time + 1) * step_load.
	s, _ := Stages("step", false, st)
	for _, at := range []float64{0, 29, 31, 59.5, 61, 95} {
		got, _ := s.Tick(Status{Elapsed: sec(at)})
		if want := min(35, int(at/30+1)*10); got.Users != want {
			t.Errorf("step at %vs: %d users, want %d", at, got.Users, want)
		}
	}

	sp, err := Spike{BaseUsers: 5, SpikeUsers: 50, At: sec(20), Hold: sec(10), SpawnRate: 25, Duration: sec(60)}.Stages()
	if err != nil || len(sp) != 3 || sp[0].Users != 5 || sp[1].Users != 50 || sp[1].End != sec(30) || sp[2].End != sec(60) {
		t.Errorf("spike: %+v %v", sp, err)
	}
	if sp, _ := (Spike{SpikeUsers: 9, Hold: sec(5), SpawnRate: 1, Duration: sec(5)}).Stages(); len(sp) != 1 {
		t.Errorf("a spike from 0 to the end is one stage: %+v", sp)
	}
	for _, bad := range []any{
		Step{Every: sec(1), Duration: sec(1), SpawnRate: 1},
		Step{StepUsers: 1, Duration: sec(1), SpawnRate: 1},
		Step{StepUsers: 1, Every: time.Nanosecond, Duration: time.Hour, SpawnRate: 1},
		Spike{SpikeUsers: 1, Hold: sec(10), Duration: sec(5), SpawnRate: 1},
		Spike{SpikeUsers: -1, Hold: sec(1), Duration: sec(5), SpawnRate: 1},
	} {
		var err error
		switch b := bad.(type) {
		case Step:
			_, err = b.Stages()
		case Spike:
			_, err = b.Stages()
		}
		if err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestRegister(t *testing.T) {
	// Not parallel: the registry is global.
	s := &Shape{Name: "TestRegisterWave", Tick: func(Status) (Target, bool) { return Target{}, false }}
	Register(s)
	if Lookup("TestRegisterWave") != s {
		t.Fatal("Lookup did not find the registered shape")
	}
	found := false
	for _, r := range Registered() {
		found = found || r == s
	}
	if !found {
		t.Error("Registered does not list it")
	}
	for _, bad := range []*Shape{s, {Name: "NoTick"}, {Tick: s.Tick}, nil} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Register(%+v) did not panic", bad)
				} else if msg := strings.ToLower(strings.TrimSpace(toString(r))); msg == "" {
					t.Errorf("empty panic")
				}
			}()
			Register(bad)
		}()
	}
}

func toString(r any) string {
	if err, ok := r.(error); ok {
		return err.Error()
	}
	s, _ := r.(string)
	return s
}

func TestTargetSame(t *testing.T) {
	t.Parallel()
	a := Target{Users: 3, SpawnRate: 1, Stage: "x"}
	if !a.Same(Target{Users: 3, SpawnRate: 1, Stage: "y", NextChange: 5}) {
		t.Error("labels must not make a new tick")
	}
	if a.Same(Target{Users: 3, SpawnRate: 1, Classes: []string{}}) || a.Same(Target{Users: 4, SpawnRate: 1}) {
		t.Error("classes or users differ")
	}
}
