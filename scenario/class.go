package scenario

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// TaskFunc is the body of a task, on_start or on_stop. ctx is cancelled when
// the user is stopped without grace (stop_timeout 0, the stop timeout ran out,
// or the runner is closed). A returned error is reported as a user exception
// (like an exception raised in a Locust task) and the user goes on.
type TaskFunc func(ctx context.Context, u *UserContext) error

// Task is one weighted task of a user class.
type Task struct {
	// Name identifies the task, e.g. for update_user_class's "tasks" list
	// (Locust matches the Python function's __name__).
	Name string
	// Weight is the relative frequency of the task; 0 means 1 (Locust's
	// @task default).
	Weight int
	// Fn is the task's function; a task group has Group instead.
	Fn TaskFunc
	// Group makes the task a task group (Locust's TaskSet): see TaskGroup.
	Group *TaskGroup
	// Tags are Locust's @tag names: with -T/--tags only tasks carrying one
	// of the given tags run, with -E/--exclude-tags tasks carrying one of
	// those do not (see Runner.FilterTags). A group's tags apply to every
	// task in it.
	Tags []string
}

// Class is a user class: what one simulated user does. It is plain data;
// the runner copies what it needs when it is created, so a Class must not
// be modified after it was handed to NewRunner or Register.
type Class struct {
	// Name must equal the class name of the Python locustfile the master
	// runs: the master dispatches users by class name.
	Name string
	// Weight and FixedCount are Locust's class attributes. Workers only
	// report them; the master distributes users. A class with neither a
	// weight nor a fixed count gets Locust's default weight 1 (see Validate).
	Weight     int
	FixedCount int
	// Host overrides the runner's default host for this class. The
	// master's host (Runner.SetHost) still wins, as in Locust where the
	// --host option sets every class's host.
	Host string
	// HTTP configures the HTTP client of the class's users (TLS, proxies,
	// connections); the zero value is Locust's HttpUser.
	HTTP HTTPConfig
	// WaitTime returns the pause after each task; nil means no pause.
	WaitTime WaitTime
	// OnStart runs once when a user starts, OnStop once when it stops.
	OnStart TaskFunc
	OnStop  TaskFunc
	// Tasks are picked at random in proportion to their weights, or run
	// in their order when Sequential (see TaskGroup.Sequential).
	Tasks      []Task
	Sequential bool
	// Vars are the class's variables and their default values (the YAML
	// scenario's vars, top level and class). A value given on the command
	// line (--var name=value) or by the master (a key of the same name in
	// the spawn's parsed_options, as Locust sends custom arguments) wins.
	// Users read them with UserContext.Var.
	Vars map[string]string
	// Data, when set, gives every user of the class a row for its life
	// (UserContext.Row), taken as Data.Mode says.
	Data *DataSet

	scope *varScope // a YAML class's variables, as its templates refer to them
	seed  *uint64   // the YAML scenario's seed; nil: none (seed.go)
}

// ErrInvalidClass is wrapped by every error Validate returns.
var ErrInvalidClass = errors.New("scenario: invalid user class")

// Validate checks the class and fills defaults (Weight 1 when neither a
// weight nor a fixed count is set, task weights of 0 become 1).
func (c *Class) Validate() error {
	if c == nil {
		return fmt.Errorf("%w: nil class", ErrInvalidClass)
	}
	if !IsIdentifier(c.Name) {
		return fmt.Errorf("%w: name %q is not a valid Python identifier", ErrInvalidClass, c.Name)
	}
	if c.Weight < 0 || c.FixedCount < 0 {
		return fmt.Errorf("%w: %s: weight and fixed_count must be >= 0", ErrInvalidClass, c.Name)
	}
	if c.Weight == 0 && c.FixedCount == 0 {
		c.Weight = 1
	}
	if len(c.Tasks) == 0 {
		return fmt.Errorf("%w: %s: no tasks", ErrInvalidClass, c.Name)
	}
	if err := c.HTTP.validate(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidClass, c.Name, err)
	}
	if err := validateTasks(c.Tasks, c.Name, 0); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidClass, err)
	}
	return nil
}

// IsIdentifier reports whether s is a valid Python identifier (and not a
// keyword), the constraint on Locust user class names.
func IsIdentifier(s string) bool {
	if s == "" || pythonKeywords[s] {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)):
		default:
			return false
		}
	}
	return true
}

var pythonKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true,
	"async": true, "await": true, "break": true, "class": true, "continue": true, "def": true,
	"del": true, "elif": true, "else": true, "except": true, "finally": true, "for": true,
	"from": true, "global": true, "if": true, "import": true, "in": true, "is": true,
	"lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true,
	"return": true, "try": true, "while": true, "with": true, "yield": true,
}

var registry struct {
	mu      sync.Mutex
	classes []*Class
}

// Register adds a class to the global registry used by binaries built on
// the Go API (typically from an init function or main before the engine
// starts). It panics if the class is invalid or its name is already
// registered, like http.Handle does for programming errors.
func Register(c *Class) {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for _, o := range registry.classes {
		if o.Name == c.Name {
			panic(fmt.Sprintf("scenario: user class %q registered twice", c.Name))
		}
	}
	registry.classes = append(registry.classes, c)
}

// Registered returns the registered classes sorted by name.
func Registered() []*Class {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := slices.Clone(registry.classes)
	slices.SortFunc(out, func(a, b *Class) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// taskPicker picks tasks in proportion to their weights, or in order.
type taskPicker struct {
	tasks []Task
	cum   []int // cumulative weights
	total int
	seq   bool // in order, a task of weight N N times (seqNext)
}

// newTaskPicker builds the picker of validated tasks, and those of their
// groups, on copies of the groups.
func newTaskPicker(tasks []Task, seq bool) *taskPicker {
	p := &taskPicker{seq: seq}
	for _, t := range tasks {
		w := t.Weight
		if w == 0 {
			w = 1
		}
		if w < 0 || (t.Fn == nil) == (t.Group == nil) {
			continue
		}
		if g := t.Group; g != nil {
			cp := *g
			cp.picker = newTaskPicker(g.Tasks, g.Sequential)
			cp.startName, cp.stopName = t.Name+".on_start", t.Name+".on_stop"
			t.Group = &cp
		}
		p.total += w
		p.tasks = append(p.tasks, t)
		p.cum = append(p.cum, p.total)
	}
	return p
}

// pick returns the task for the random number n in [0, total).
func (p *taskPicker) pick(n int) *Task {
	i, _ := slices.BinarySearch(p.cum, n+1)
	return &p.tasks[i]
}
