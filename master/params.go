package master

import (
	"fmt"
	"slices"

	"github.com/glocust/glocust/protocol"
)

// Param is one of the scenario's custom parameters (its vars), as Locust's
// custom arguments: the dashboard's start form shows it, and a POST /swarm
// form key of its name sets it in the parsed options that spawn messages
// carry to the workers (Master.SetParams).
type Param struct {
	// Name is its key in the form and in the parsed options.
	Name string
	// Value is its value when the master starts: the one given to the
	// master (--var, the environment), else the scenario's default.
	Value string
}

// ParamValue is a parameter with its current value, as View.Params
// reports it.
type ParamValue struct {
	Param
	// Set: the parsed options sent to workers hold the value (it was
	// given to the master or set by POST /swarm). Otherwise the workers
	// use their scenario's default, which Value shows.
	Set bool
}

// swarmKeys are the POST /swarm form keys of the master's own settings: a
// parameter of the same name cannot be set from the form, as the key
// means the setting.
var swarmKeys = []string{"user_count", "spawn_rate", "host", "profile", "run_time", "user_classes", "shape_class"}

// isParam reports whether a POST /swarm form key sets a parameter. It
// reads only the configuration, which never changes after New, so any
// goroutine may call it.
func (m *Master) isParam(key string) bool { return isParam(m.cfg.Params, key) }

func isParam(params []Param, key string) bool {
	if slices.Contains(swarmKeys, key) {
		return false
	}
	return slices.ContainsFunc(params, func(p Param) bool { return p.Name == key })
}

// SetParams sets parameters in the parsed options sent with this and
// later spawn messages (Locust's POST /swarm sets the parsed option a form
// key names), as the strings given. A name that is not a parameter is an
// error, and then nothing is set.
func (m *Master) SetParams(values map[string]string) error {
	var err error
	m.Do(func(v *View) { err = v.c.setParams(values) })
	return err
}

// setParams replaces the parsed options by a copy with values set (the
// map a spawn message already carries is never changed).
func (c *core) setParams(values map[string]string) error {
	for name := range values {
		if !isParam(c.cfg.Params, name) {
			return fmt.Errorf("master: %q is not a parameter of the scenario", name)
		}
	}
	if len(values) == 0 {
		return nil
	}
	old := c.cfg.ParsedOptions
	opts := &protocol.Map{Keys: slices.Clone(old.Keys), Values: slices.Clone(old.Values)}
	for _, p := range c.cfg.Params { // in their order: the new keys go in a stable order
		if v, ok := values[p.Name]; ok {
			opts.Set(p.Name, v)
		}
	}
	c.cfg.ParsedOptions = opts
	return nil
}

// Params lists the parameters a POST /swarm can set (not one named as
// a setting of the form) with their current values: the parsed options'
// (as the workers read them) where they hold one.
func (v *View) Params() []ParamValue {
	out := make([]ParamValue, 0, len(v.c.cfg.Params))
	for _, p := range v.c.cfg.Params {
		if !isParam(v.c.cfg.Params, p.Name) {
			continue
		}
		pv := ParamValue{Param: p}
		if x, ok := v.c.cfg.ParsedOptions.Get(p.Name); ok && x != nil {
			pv.Value, pv.Set = optionText(x), true
		}
		out = append(out, pv)
	}
	return out
}

// optionText is a parsed option's value as a form field holds it. The
// master sets parameters as strings; another value is printed.
func optionText(x protocol.Value) string {
	if s, ok := x.(string); ok {
		return s
	}
	return fmt.Sprint(x)
}
