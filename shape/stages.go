package shape

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Stage is one part of a shape made of stages: from the end of the
// previous stage (or the start) until End, the test runs Users users,
// reached at SpawnRate users per second.
type Stage struct {
	// Name labels the stage in displays; "" shows "stage i/n".
	Name string
	// End is the elapsed time the stage ends at (Locust's StagesShape
	// example calls it the stage's duration).
	End time.Duration
	// Users is the stage's user count; FromOptions (-u) when negative.
	Users int
	// SpawnRate is the ramp's users per second; FromOptions (-r) when 0.
	SpawnRate float64
	// Classes restricts the user classes (see Target.Classes).
	Classes []string
}

// FromOptions marks a Stage's Users taken from -u (a shape that uses the
// common options).
const FromOptions = -1

// Stages returns a shape that runs stages in order, as Locust's
// StagesShape example does: at elapsed time t, the target is the first
// stage whose End is after t; once the last stage ended, so has the shape.
// With useCommon, a stage's Users may be FromOptions (-u) and its
// SpawnRate 0 (-r), and -t ends the shape early. It fails on stages
// CheckStages rejects.
func Stages(name string, useCommon bool, stages []Stage) (*Shape, error) {
	if err := CheckStages(useCommon, stages); err != nil {
		return nil, err
	}
	plan := make([]Stage, len(stages))
	copy(plan, stages)
	tick := func(st Status) (Target, bool) {
		end := plan[len(plan)-1].End
		if useCommon && st.Common.RunTime > 0 {
			end = min(end, st.Common.RunTime)
		}
		if st.Elapsed >= end {
			return Target{}, false
		}
		for i, s := range plan {
			if st.Elapsed >= s.End {
				continue
			}
			t := Target{Users: s.Users, SpawnRate: s.SpawnRate, Classes: s.Classes,
				Stage: s.Name, StageIndex: i + 1, Stages: len(plan), NextChange: min(s.End, end)}
			if t.Stage == "" {
				t.Stage = "stage " + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(plan))
			}
			if t.Users < 0 {
				t.Users = st.Common.Users
				if !st.Common.UsersSet {
					t.Users = 1 // Locust's headless default for -u
				}
			}
			if t.SpawnRate == 0 {
				t.SpawnRate = st.Common.SpawnRate
				if !st.Common.SpawnRateSet {
					t.SpawnRate = 1 // Locust's headless default for -r
				}
			}
			return t, true
		}
		return Target{}, false
	}
	return &Shape{Name: name, UseCommonOptions: useCommon, Tick: tick, Plan: plan}, nil
}

// StageError is an error in one stage (Index, 0-based) of a shape; the
// YAML parser turns it into an error at that stage's line.
type StageError struct {
	Index int
	Field string // "end", "users", "spawn_rate" or "classes"
	Msg   string
}

func (e *StageError) Error() string {
	return fmt.Sprintf("shape: stages[%d].%s: %s", e.Index, e.Field, e.Msg)
}

// CheckStages reports whether stages make a shape: at least one, ends
// strictly increasing after 0, users >= 0 and a positive finite spawn rate
// (or, with useCommon, FromOptions and 0 for -u and -r), class names not
// empty nor repeated.
func CheckStages(useCommon bool, stages []Stage) error {
	if len(stages) == 0 {
		return errors.New("shape: at least one stage is required")
	}
	var prev time.Duration
	for i, s := range stages {
		bad := func(field, format string, args ...any) error {
			return &StageError{Index: i, Field: field, Msg: fmt.Sprintf(format, args...)}
		}
		switch {
		case s.End <= prev && i == 0:
			return bad("end", "must be after the start (got %v)", s.End)
		case s.End <= prev:
			return bad("end", "must be after the previous stage's end %v (got %v)", prev, s.End)
		case s.Users < 0 && !(useCommon && s.Users == FromOptions):
			return bad("users", "must be >= 0 (or left out with use_common_options: true), got %d", s.Users)
		case s.SpawnRate == 0 && !useCommon:
			return bad("spawn_rate", "required (or use_common_options: true for -r)")
		case !(s.SpawnRate >= 0) || math.IsInf(s.SpawnRate, 0):
			return bad("spawn_rate", "must be a positive number, got %v", s.SpawnRate)
		}
		seen := map[string]bool{}
		for _, c := range s.Classes {
			if c == "" || seen[c] {
				return bad("classes", "class names must be given once each and not be empty")
			}
			seen[c] = true
		}
		prev = s.End
	}
	return nil
}

// Step is Locust's StepLoadShape example: users start at StepUsers and grow
// by StepUsers every Every, at SpawnRate, until Duration (the shape's end).
// MaxUsers > 0 caps the count.
type Step struct {
	StepUsers int
	Every     time.Duration
	SpawnRate float64
	Duration  time.Duration
	MaxUsers  int
}

// maxStages bounds the stages a built-in form may expand to.
const maxStages = 100000

// Stages expands s into stages (one per step).
func (s Step) Stages() ([]Stage, error) {
	switch {
	case s.StepUsers <= 0:
		return nil, errors.New("shape: step: users must be > 0")
	case s.Every <= 0:
		return nil, errors.New("shape: step: every must be > 0")
	case s.Duration <= 0:
		return nil, errors.New("shape: step: duration must be > 0")
	case s.MaxUsers < 0:
		return nil, errors.New("shape: step: max_users must be >= 0")
	case (s.Duration+s.Every-1)/s.Every > maxStages:
		return nil, fmt.Errorf("shape: step: more than %d steps (duration / every)", maxStages)
	}
	var out []Stage
	for k := 1; ; k++ {
		end := time.Duration(k) * s.Every
		users := k * s.StepUsers
		if s.MaxUsers > 0 {
			users = min(users, s.MaxUsers)
		}
		if end >= s.Duration {
			return append(out, Stage{End: s.Duration, Users: users, SpawnRate: s.SpawnRate,
				Name: "step " + strconv.Itoa(k)}), nil
		}
		out = append(out, Stage{End: end, Users: users, SpawnRate: s.SpawnRate, Name: "step " + strconv.Itoa(k)})
	}
}

// Spike runs BaseUsers, jumps to SpikeUsers at At for Hold, then goes back
// to BaseUsers until Duration, at SpawnRate both ways.
type Spike struct {
	BaseUsers  int
	SpikeUsers int
	At, Hold   time.Duration
	SpawnRate  float64
	Duration   time.Duration
}

// Stages expands s into its three stages (two when the spike starts at 0,
// and without the last when it ends with the shape).
func (s Spike) Stages() ([]Stage, error) {
	switch {
	case s.BaseUsers < 0 || s.SpikeUsers < 0:
		return nil, errors.New("shape: spike: users must be >= 0")
	case s.At < 0 || s.Hold <= 0:
		return nil, errors.New("shape: spike: at must be >= 0 and hold > 0")
	case s.Duration < s.At+s.Hold:
		return nil, fmt.Errorf("shape: spike: duration %v ends before the spike does (at %v + hold %v)", s.Duration, s.At, s.Hold)
	}
	var out []Stage
	if s.At > 0 {
		out = append(out, Stage{Name: "base", End: s.At, Users: s.BaseUsers, SpawnRate: s.SpawnRate})
	}
	out = append(out, Stage{Name: "spike", End: s.At + s.Hold, Users: s.SpikeUsers, SpawnRate: s.SpawnRate})
	if s.Duration > s.At+s.Hold {
		out = append(out, Stage{Name: "recovery", End: s.Duration, Users: s.BaseUsers, SpawnRate: s.SpawnRate})
	}
	return out, nil
}
