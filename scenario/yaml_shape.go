package scenario

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/glocust/glocust/shape"
)

// The scenario's shape: key: the load shape the master runs (package
// shape). Workers parse it with the rest of the file and ignore it.
//
//	shape:
//	  name: ThreeStages           # optional
//	  use_common_options: false   # optional: -u, -r, -t feed the shape
//	  stages:                     # or step: {...}, spike: {...}, go: Name
//	    - {duration: 1m, users: 10, spawn_rate: 10}
//	    - {end: 3m, users: 30, spawn_rate: 10, classes: [WebUser], name: peak}

var shapeForms = []string{"stages", "step", "spike", "go"}

// shapeDefaultNames name the YAML forms' shapes when the file gives none.
var shapeDefaultNames = map[string]string{"stages": "StagesShape", "step": "StepLoadShape", "spike": "SpikeShape"}

// shapeSpec is a parsed shape: key, built once the classes are known.
type shapeSpec struct {
	node      *yaml.Node // the shape: value
	name      string
	useCommon bool
	commonSet bool
	form      string     // one of shapeForms
	formNode  *yaml.Node // its value
	stages    []shape.Stage
	stageNode []stageNodes // per stage, for errors
	goName    string       // go: Name
}

// stageNodes are a stage's nodes, for errors at their lines.
type stageNodes struct {
	item                         *yaml.Node
	end, users, rate, classes    *yaml.Node
	endPath, usersPath, rootPath string
}

func (p *parser) shapeSpec(n *yaml.Node, path string) (*shapeSpec, error) {
	s := &shapeSpec{node: n}
	known := append([]string{"name", "use_common_options"}, shapeForms...)
	err := p.fields(n, path, known, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "name":
			if s.name, err = p.str(v, path); err == nil && strings.TrimSpace(s.name) == "" {
				err = p.errf(v, path, "must not be empty")
			}
		case "use_common_options":
			s.useCommon, err = p.boolean(v, path)
			s.commonSet = true
		default:
			if s.form != "" {
				return p.errf(v, path, "a shape has one of %s; this one already has %s", strings.Join(shapeForms, ", "), s.form)
			}
			s.form, s.formNode = key, v
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	fp := join(path, s.form)
	switch s.form {
	case "":
		return nil, p.errf(n, path, "one of %s is required", strings.Join(shapeForms, ", "))
	case "stages":
		err = p.stages(s, fp)
	case "step":
		err = p.step(s, fp)
	case "spike":
		err = p.spike(s, fp)
	case "go":
		err = p.goShape(s, path)
	}
	if err != nil {
		return nil, err
	}
	if s.name == "" {
		s.name = shapeDefaultNames[s.form]
	}
	return s, nil
}

func (p *parser) goShape(s *shapeSpec, path string) error {
	name, err := p.str(s.formNode, path+".go")
	if err != nil {
		return err
	}
	if s.commonSet {
		return p.errf(s.node, path+".use_common_options", "a Go shape sets UseCommonOptions itself")
	}
	if name == "" {
		return p.errf(s.formNode, path+".go", "must name a registered Go shape")
	}
	s.goName = name
	if s.name != "" {
		return p.errf(s.node, path+".name", "a Go shape is named by its registration")
	}
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (p *parser) stages(s *shapeSpec, path string) error {
	items, err := p.seq(s.formNode, path)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return p.errf(s.formNode, path, "at least one stage is required")
	}
	var prev time.Duration
	for i, it := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		st := shape.Stage{Users: shape.FromOptions}
		sn := stageNodes{item: it, rootPath: ip}
		var dur, end time.Duration
		var durNode *yaml.Node
		err := p.fields(it, ip, []string{"name", "duration", "end", "users", "spawn_rate", "classes"}, func(key string, v *yaml.Node, path string) (err error) {
			switch key {
			case "name":
				st.Name, err = p.str(v, path)
			case "duration":
				dur, err = p.positiveDuration(v, path)
				durNode = v
			case "end":
				end, err = p.positiveDuration(v, path)
				sn.end, sn.endPath = v, path
			case "users":
				st.Users, err = p.integer(v, path, 0, 1<<30)
				sn.users, sn.usersPath = v, path
			case "spawn_rate":
				st.SpawnRate, err = p.rate(v, path)
				sn.rate = v
			case "classes":
				st.Classes, err = p.strList(v, path)
				sn.classes = v
			}
			return err
		})
		if err != nil {
			return err
		}
		switch {
		case durNode != nil && sn.end != nil:
			return p.errf(durNode, ip, "a stage has a duration or an end, not both")
		case durNode != nil:
			end, sn.end, sn.endPath = prev+dur, durNode, ip+".duration"
		case sn.end == nil:
			return p.errf(it, ip, "a stage needs a duration or an end")
		}
		st.End = end
		if err := p.commonValues(s, &st, sn); err != nil {
			return err
		}
		s.stages, s.stageNode = append(s.stages, st), append(s.stageNode, sn)
		prev = end
	}
	return nil
}

// commonValues checks that a stage without users or spawn_rate may take
// them from -u and -r (use_common_options).
func (p *parser) commonValues(s *shapeSpec, st *shape.Stage, sn stageNodes) error {
	if s.useCommon {
		return nil
	}
	switch {
	case sn.users == nil:
		return p.errf(sn.item, sn.rootPath+".users", "required (or use_common_options: true to take -u)")
	case sn.rate == nil:
		return p.errf(sn.item, sn.rootPath+".spawn_rate", "required (or use_common_options: true to take -r)")
	}
	return nil
}

func (p *parser) step(s *shapeSpec, path string) error {
	var st shape.Step
	var rateNode *yaml.Node
	err := p.fields(s.formNode, path, []string{"users", "every", "spawn_rate", "duration", "max_users"}, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "users":
			st.StepUsers, err = p.integer(v, path, 1, 1<<30)
		case "every":
			st.Every, err = p.positiveDuration(v, path)
		case "spawn_rate":
			st.SpawnRate, err = p.rate(v, path)
			rateNode = v
		case "duration":
			st.Duration, err = p.positiveDuration(v, path)
		case "max_users":
			st.MaxUsers, err = p.integer(v, path, 0, 1<<30)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := p.required(s, path, map[string]bool{"users": st.StepUsers > 0, "every": st.Every > 0, "duration": st.Duration > 0}, rateNode); err != nil {
		return err
	}
	s.stages, err = st.Stages()
	if err != nil {
		return p.errf(s.formNode, path, "%s", strings.TrimPrefix(err.Error(), "shape: step: "))
	}
	return nil
}

func (p *parser) spike(s *shapeSpec, path string) error {
	var sp shape.Spike
	var rateNode *yaml.Node
	have := map[string]bool{}
	err := p.fields(s.formNode, path, []string{"base_users", "spike_users", "at", "hold", "spawn_rate", "duration"}, func(key string, v *yaml.Node, path string) (err error) {
		have[key] = true
		switch key {
		case "base_users":
			sp.BaseUsers, err = p.integer(v, path, 0, 1<<30)
		case "spike_users":
			sp.SpikeUsers, err = p.integer(v, path, 0, 1<<30)
		case "at":
			sp.At, err = p.duration(v, path)
		case "hold":
			sp.Hold, err = p.positiveDuration(v, path)
		case "spawn_rate":
			sp.SpawnRate, err = p.rate(v, path)
			rateNode = v
		case "duration":
			sp.Duration, err = p.positiveDuration(v, path)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := p.required(s, path, map[string]bool{"spike_users": have["spike_users"], "at": have["at"],
		"hold": have["hold"], "duration": have["duration"]}, rateNode); err != nil {
		return err
	}
	s.stages, err = sp.Stages()
	if err != nil {
		return p.errf(s.formNode, path, "%s", strings.TrimPrefix(err.Error(), "shape: spike: "))
	}
	return nil
}

// required reports the first missing key of a built-in form (in sorted
// order); spawn_rate may be left out with use_common_options (-r).
func (p *parser) required(s *shapeSpec, path string, have map[string]bool, rateNode *yaml.Node) error {
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if !have[k] {
			return p.errf(s.formNode, path+"."+k, "required")
		}
	}
	if rateNode == nil && !s.useCommon {
		return p.errf(s.formNode, path+".spawn_rate", "required (or use_common_options: true to take -r)")
	}
	return nil
}

// positiveDuration reads a duration (seconds or "1m30s") that must be > 0.
func (p *parser) positiveDuration(n *yaml.Node, path string) (time.Duration, error) {
	d, err := p.duration(n, path)
	if err == nil && d <= 0 {
		err = p.errf(n, path, "must be greater than 0")
	}
	return d, err
}

// rate reads a spawn rate: a positive, finite number of users per second.
func (p *parser) rate(n *yaml.Node, path string) (float64, error) {
	f, err := p.number(n, path)
	if err == nil && !(f > 0 && f <= 1e9) {
		err = p.errf(n, path, "must be a positive number of users per second, got %s", resolve(n).Value)
	}
	return f, err
}

// buildShape makes the shape once the scenario's classes are known. err is
// an error in the file; masterErr says why this program's master cannot run
// the shape although the file is valid: the Go shape it names is not
// registered, or a stage names a class that is neither in the file nor
// registered. Workers, which ignore the shape, ignore masterErr too (a
// worker binary need not have the master's Go code).
func (p *parser) buildShape(s *shapeSpec, path string, classes []*Class) (sh *shape.Shape, masterErr, err error) {
	if s.goName != "" {
		if sh = shape.Lookup(s.goName); sh == nil {
			var names []string
			for _, r := range shape.Registered() {
				names = append(names, r.Name)
			}
			masterErr = p.errf(s.formNode, path+".go", "no Go shape %q is registered (registered: %s)", s.goName, orNone(names))
		}
		return sh, masterErr, nil
	}
	sh, err = shape.Stages(s.name, s.useCommon, s.stages)
	var se *shape.StageError
	if errors.As(err, &se) && se.Index < len(s.stageNode) {
		sn := s.stageNode[se.Index]
		n, fpath := sn.item, sn.rootPath+"."+se.Field
		if se.Field == "end" {
			n, fpath = sn.end, sn.endPath
		}
		return nil, nil, p.errf(n, fpath, "%s", se.Msg)
	}
	if err != nil {
		return nil, nil, p.errf(s.node, path, "%s", strings.TrimPrefix(err.Error(), "shape: "))
	}
	return sh, p.stageClasses(s, classes), nil
}

// stageClasses checks that the stages' classes are the file's or
// registered ones.
func (p *parser) stageClasses(s *shapeSpec, classes []*Class) error {
	known := map[string]bool{}
	for _, c := range classes {
		known[c.Name] = true
	}
	for _, c := range Registered() {
		known[c.Name] = true
	}
	for i, st := range s.stages {
		for _, c := range st.Classes {
			if !known[c] {
				sn := s.stageNode[i]
				return p.errf(sn.classes, sn.rootPath+".classes", "unknown user class %q", c)
			}
		}
	}
	return nil
}
