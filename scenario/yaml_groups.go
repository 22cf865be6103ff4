package scenario

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The keys of an item of a tasks list: a request or steps task
// (parser.task), a task group, or an interrupt task.
var (
	taskItemKeys  = []string{"name", "weight", "tags", "request", "steps", "interrupt", "tasks", "sequential", "iterations", "wait_time", "on_start", "on_stop"}
	groupKeys     = []string{"name", "weight", "tags", "sequential", "iterations", "wait_time", "on_start", "on_stop", "tasks"}
	groupOnlyKeys = []string{"tasks", "sequential", "iterations", "wait_time", "on_start", "on_stop"}
	interruptKeys = []string{"name", "weight", "tags", "interrupt"}
)

// maxGroupTasks bounds the tasks of a file's task groups, all nesting
// levels counted, so that nested YAML aliases cannot multiply them past
// memory (each level of a group made of two aliases of the one below
// doubles them).
const maxGroupTasks = 1 << 14

// taskItem parses an item of the tasks of a class (depth 0) or of a task
// group (depth > 0): a task group if it has a group's key (tasks,
// sequential, ...), an interrupt task if it has interrupt, else a request
// or steps task.
func (p *parser) taskItem(n *yaml.Node, path string, depth int) (Task, error) {
	rn := resolve(n)
	if rn == nil || rn.Kind != yaml.MappingNode {
		return p.task(n, path) // its error
	}
	var group, interrupt, body *yaml.Node // the first key of each kind
	for i := 0; i < len(rn.Content); i += 2 {
		k := resolve(rn.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			return p.task(n, path) // its error
		}
		switch {
		case !slices.Contains(taskItemKeys, k.Value):
			return Task{}, p.errf(k, path, "unknown key %q (want %s)", k.Value, strings.Join(taskItemKeys, ", "))
		case slices.Contains(groupOnlyKeys, k.Value):
			group = firstNode(group, k)
		case k.Value == "interrupt":
			interrupt = firstNode(interrupt, k)
		case k.Value == "request" || k.Value == "steps":
			body = firstNode(body, k)
		}
	}
	switch {
	case group != nil && interrupt != nil:
		return Task{}, p.errf(interrupt, join(path, "interrupt"), "a task group cannot be an interrupt task (put one among its tasks)")
	case group != nil && body != nil:
		return Task{}, p.errf(body, join(path, body.Value), "a task group has tasks, not a request or steps of its own (%s goes with tasks)", group.Value)
	case interrupt != nil && body != nil:
		return Task{}, p.errf(body, join(path, body.Value), "an interrupt task has no request or steps (make it a task of its own)")
	case group != nil:
		return p.group(rn, path, depth)
	case interrupt != nil:
		return p.interruptTask(rn, path, depth)
	}
	return p.task(n, path)
}

// taskHeader parses the keys every kind of task has (name, weight, tags)
// and reports whether key was one of them.
func (p *parser) taskHeader(t *Task, key string, v *yaml.Node, path string) (ok bool, err error) {
	switch key {
	case "name":
		t.Name, err = p.str(v, path)
	case "weight":
		t.Weight, err = p.integer(v, path, 0, 1<<20)
	case "tags":
		t.Tags, err = p.strList(v, path)
	default:
		return false, nil
	}
	return true, err
}

func firstNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

// group parses a task group (Locust's TaskSet).
func (p *parser) group(n *yaml.Node, path string, depth int) (Task, error) {
	t := Task{Weight: 1}
	g := &TaskGroup{}
	var tasksNode *yaml.Node
	err := p.fields(n, path, groupKeys, func(key string, v *yaml.Node, path string) (err error) {
		if ok, err := p.taskHeader(&t, key, v, path); ok {
			return err
		}
		switch key {
		case "sequential":
			g.Sequential, err = p.boolean(v, path)
		case "iterations":
			g.Iterations, err = p.integer(v, path, 1, 1<<30)
		case "wait_time":
			g.WaitTime, err = p.waitTime(v, path)
		case "on_start":
			g.OnStart, err = p.stepsFn(v, path)
		case "on_stop":
			g.OnStop, err = p.stepsFn(v, path)
		case "tasks":
			tasksNode = v
		}
		return err
	})
	if err != nil {
		return t, err
	}
	if t.Name == "" {
		return t, p.errf(n, path+".name", "required for a task group (as a Locust TaskSet's class name)")
	}
	if tasksNode == nil {
		return t, p.errf(n, path+".tasks", "required: a task group's tasks (or remove its group keys)")
	}
	if depth >= MaxGroupDepth {
		return t, p.errf(tasksNode, path+".tasks", "task groups nest deeper than %d levels", MaxGroupDepth)
	}
	items, err := p.seq(tasksNode, path+".tasks")
	if err != nil {
		return t, err
	}
	if len(items) == 0 {
		return t, p.errf(tasksNode, path+".tasks", "at least one task is required")
	}
	for i, it := range items {
		ipath := fmt.Sprintf("%s.tasks[%d]", path, i)
		if p.groupTasks++; p.groupTasks > maxGroupTasks {
			return t, p.errf(it, ipath, "more than %d tasks in task groups (aliases nested too deep?)", maxGroupTasks)
		}
		sub, err := p.taskItem(it, ipath, depth+1)
		if err != nil {
			return t, err
		}
		if sub.Weight > 0 {
			g.Tasks = append(g.Tasks, sub)
		}
	}
	if len(g.Tasks) == 0 {
		return t, p.errf(tasksNode, path+".tasks", "at least one task with a weight > 0 is required")
	}
	t.Group = g
	return t, nil
}

// interruptTask parses {interrupt: true}: a task that leaves its group.
func (p *parser) interruptTask(n *yaml.Node, path string, depth int) (Task, error) {
	t := Task{Name: "interrupt", Weight: 1, Fn: Interrupt}
	err := p.fields(n, path, interruptKeys, func(key string, v *yaml.Node, path string) (err error) {
		if ok, err := p.taskHeader(&t, key, v, path); ok {
			return err
		}
		switch key {
		case "interrupt":
			var b bool
			if b, err = p.boolean(v, path); err == nil && !b {
				err = p.errf(v, path, "must be true (leave the key out of other tasks)")
			} else if err == nil && depth == 0 {
				err = p.errf(v, path, "only a task of a task group can interrupt (this is a class's task)")
			}
		}
		return err
	})
	if err == nil && t.Name == "" {
		t.Name = "interrupt"
	}
	return t, err
}
