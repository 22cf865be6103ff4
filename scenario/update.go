package scenario

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// UpdateClass applies Locust's update_user_class message to a class: the
// attributes weight, fixed_count, host, wait_time (a number of seconds for
// constant, or a scenario-style map such as {"between": [1, 2]}) and tasks
// (the names of the tasks to keep, from the class's original tasks). Task
// and wait_time changes apply to running users at their next task; host
// applies to users started afterwards (as an HttpUser's client keeps its
// base URL). "user_class_name" is skipped. It returns the attributes it
// could not apply, sorted, for the caller to log; an unknown class ignores
// all of them.
func (r *Runner) UpdateClass(name string, attrs map[string]any) []string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if k != "user_class_name" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	r.mu.Lock()
	defer r.mu.Unlock()
	cr := r.classes[name]
	if cr == nil {
		r.log.Warn("scenario: update_user_class for unknown user class", "class", name)
		return keys
	}
	cfg := *cr.cfg.Load()
	var ignored []string
	for _, k := range keys {
		if !applyAttr(&cfg, &cr.base, k, attrs[k]) {
			ignored = append(ignored, k)
		}
	}
	cr.cfg.Store(&cfg)
	return ignored
}

func applyAttr(cfg *classConfig, base *Class, key string, v any) bool {
	switch key {
	case "weight", "fixed_count":
		n, ok := anyInt(v)
		if !ok || n < 0 {
			return false
		}
		if key == "weight" {
			cfg.weight = n
		} else {
			cfg.fixedCount = n
		}
	case "host":
		s, ok := v.(string)
		if !ok && v != nil {
			return false
		}
		cfg.host = s
	case "wait_time":
		w, err := waitTimeFromAny(v)
		if err != nil {
			return false
		}
		cfg.wait = w
	case "tasks":
		list, ok := v.([]any)
		if !ok {
			return false
		}
		keep := make(map[string]bool, len(list))
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return false
			}
			keep[s] = true
		}
		var tasks []Task
		for _, t := range base.Tasks {
			if keep[t.Name] {
				tasks = append(tasks, t)
			}
		}
		cfg.tasks = newTaskPicker(tasks, base.Sequential)
	default:
		return false
	}
	return true
}

// waitTimeFromAny builds a wait time from a decoded message value: a
// number (constant seconds) or a one-key map as in the scenario file.
func waitTimeFromAny(v any) (WaitTime, error) {
	if f, ok := anyFloat(v); ok {
		if f < 0 {
			return nil, fmt.Errorf("negative wait time %v", f)
		}
		return Constant(seconds(f)), nil
	}
	var kind string
	var arg any
	switch m := v.(type) {
	case map[string]any:
		if len(m) != 1 {
			return nil, fmt.Errorf("wait_time map must have one key")
		}
		for k, a := range m {
			kind, arg = k, a
		}
	case map[any]any:
		if len(m) != 1 {
			return nil, fmt.Errorf("wait_time map must have one key")
		}
		for k, a := range m {
			s, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("wait_time key must be a string")
			}
			kind, arg = s, a
		}
	default:
		return nil, fmt.Errorf("unsupported wait_time %T", v)
	}
	var args []float64
	if list, ok := arg.([]any); ok {
		for _, x := range list {
			f, ok := anyFloat(x)
			if !ok {
				return nil, fmt.Errorf("wait_time %s: not a number: %v", kind, x)
			}
			args = append(args, f)
		}
	} else if f, ok := anyFloat(arg); ok {
		args = []float64{f}
	} else {
		return nil, fmt.Errorf("wait_time %s: not a number: %v", kind, arg)
	}
	return makeWaitTime(kind, args)
}

// makeWaitTime builds the wait time of a kind from its numeric arguments.
func makeWaitTime(kind string, args []float64) (WaitTime, error) {
	for _, a := range args {
		if !(a >= 0) || a > maxWaitSeconds {
			return nil, fmt.Errorf("%s: arguments must be numbers in [0, %d]", kind, maxWaitSeconds)
		}
	}
	switch kind {
	case "between":
		if len(args) != 2 {
			return nil, fmt.Errorf("between takes [min, max]")
		}
		if args[0] > args[1] {
			return nil, fmt.Errorf("between: min %v is greater than max %v", args[0], args[1])
		}
		return Between(seconds(args[0]), seconds(args[1])), nil
	case "constant", "constant_pacing", "constant_throughput":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes one number", kind)
		}
		switch kind {
		case "constant":
			return Constant(seconds(args[0])), nil
		case "constant_pacing":
			return ConstantPacing(seconds(args[0])), nil
		}
		if args[0] <= 0 {
			return nil, fmt.Errorf("constant_throughput requires a positive rate")
		}
		return ConstantThroughput(args[0]), nil
	}
	return nil, fmt.Errorf("unknown kind %q (want between, constant, constant_pacing, constant_throughput)", kind)
}

// maxWaitSeconds bounds wait_time arguments (about 11 days), far below
// time.Duration's range.
const maxWaitSeconds = 1_000_000

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func anyInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		if n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < math.MaxInt32 {
			return int(n), true
		}
	}
	return 0, false
}

func anyFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	if i, ok := anyInt(v); ok {
		return float64(i), true
	}
	return 0, false
}
