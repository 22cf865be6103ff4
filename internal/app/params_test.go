package app

import (
	"slices"
	"testing"

	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/scenario"
)

// TestMasterParams: the top-level vars first in file order, then the vars
// only classes declare by class and name; a value given to the master
// wins over the default, the top level's default over a class's, and a
// top-level var no class of the run declares is left out.
func TestMasterParams(t *testing.T) {
	t.Parallel()
	top := []scenario.Var{{Name: "size", Default: "2"}, {Name: "env", Default: "dev"}, {Name: "gone", Default: "x"}}
	classes := []*scenario.Class{
		{Name: "A", Vars: map[string]string{"size": "5", "env": "dev", "zeta": "z", "alpha": "a"}},
		{Name: "B", Vars: map[string]string{"size": "2", "env": "dev", "alpha": "other", "beta": "b"}},
	}
	got := masterParams(top, classes, map[string]string{"env": "prod"})
	want := []master.Param{{Name: "size", Value: "2"}, {Name: "env", Value: "prod"}, {Name: "alpha", Value: "a"},
		{Name: "zeta", Value: "z"}, {Name: "beta", Value: "b"}}
	if !slices.Equal(got, want) {
		t.Errorf("masterParams:\n got %v\nwant %v", got, want)
	}
	if got := masterParams(nil, []*scenario.Class{{Name: "Go"}}, nil); len(got) != 0 {
		t.Errorf("no vars: %v", got)
	}
}
