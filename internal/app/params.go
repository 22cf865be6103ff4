package app

import (
	"maps"
	"slices"

	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/scenario"
)

// masterParams are the scenario's vars as the master's custom parameters
// (the dashboard's start form, POST /swarm): the top-level vars in file
// order, then the vars only classes declare, class by class, by name.
// Each has the value given to the master (--var, GLOCUST_VAR, LOCUST_<NAME>)
// or else its default: the top level's, or the first class's that
// declares it. A top-level var that no class of the run declares (the
// classes that do were left out by the user classes named on the command
// line) is not one.
func masterParams(top []scenario.Var, classes []*scenario.Class, given map[string]string) []master.Param {
	var out []master.Param
	declared := map[string]bool{}
	for _, c := range classes {
		for name := range c.Vars {
			declared[name] = true
		}
	}
	seen := map[string]bool{}
	add := func(name, def string) {
		if seen[name] || !declared[name] {
			return
		}
		seen[name] = true
		v, ok := given[name]
		if !ok {
			v = def
		}
		out = append(out, master.Param{Name: name, Value: v})
	}
	for _, v := range top {
		add(v.Name, v.Default)
	}
	for _, c := range classes {
		for _, name := range slices.Sorted(maps.Keys(c.Vars)) {
			add(name, c.Vars[name])
		}
	}
	return out
}
