package shape

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/glocust/glocust/stats"
)

// Status is what a shape sees at a tick.
type Status struct {
	// Elapsed is the time since the shape's test started (Locust's
	// get_run_time).
	Elapsed time.Duration
	// Users is the number of users the workers report running (Locust's
	// get_current_user_count).
	Users int64
	// Stats are the master's merged stats: read only, valid during the
	// tick.
	Stats *stats.Aggregate
	// Common are -u, -r and -t as given to the master.
	Common Common
}

// Common are Locust's common options (-u, -r, -t) as given on the master.
// A shape that reads them sets UseCommonOptions, as a Locust shape class
// sets use_common_options.
type Common struct {
	Users        int // -u, when UsersSet
	UsersSet     bool
	SpawnRate    float64 // -r, when SpawnRateSet
	SpawnRateSet bool
	RunTime      time.Duration // -t; 0 when not given
}

// Target is a shape's answer at a tick: the test's users, spawn rate and
// user classes from now on, plus what displays show about the shape.
type Target struct {
	// Users and SpawnRate are the total user count and the users started
	// or stopped per second on the way there (Locust's tick tuple).
	Users     int
	SpawnRate float64
	// Classes restricts the user classes to dispatch. nil keeps the
	// current selection (every class until one is named), as Locust's
	// dispatcher does when a tick returns None for them.
	Classes []string
	// Stage names the current part of the shape for displays ("" for
	// none); StageIndex (1-based) and Stages count them when known (0 when
	// not).
	Stage      string
	StageIndex int
	Stages     int
	// NextChange is the elapsed time at which the shape next changes its
	// target, when it knows (0 when not).
	NextChange time.Duration
}

// Same reports whether t and o ask for the same load: users, spawn rate
// and classes. Locust compares tick tuples so, and starts a new dispatch
// only for a tick that differs from the last one.
func (t Target) Same(o Target) bool {
	return t.Users == o.Users && t.SpawnRate == o.SpawnRate && (t.Classes == nil) == (o.Classes == nil) &&
		slices.Equal(t.Classes, o.Classes)
}

// Shape is a load shape.
type Shape struct {
	// Name identifies the shape in logs, the web API and the report (a
	// Locust shape's class name).
	Name string
	// UseCommonOptions is Locust's use_common_options: the shape reads
	// -u, -r or -t itself (through Status.Common), so the master does not
	// warn that they are ignored.
	UseCommonOptions bool
	// Tick returns the target at st, or false when the shape has ended
	// (Locust's tick returning None). It runs on the master's loop
	// goroutine, once a second while a shape test runs, and must not
	// block.
	Tick func(st Status) (Target, bool)
	// Plan lists the shape's stages when they are known in advance (the
	// YAML forms); nil for a custom shape.
	Plan []Stage
}

// ErrInvalidShape is wrapped by every error Validate returns.
var ErrInvalidShape = errors.New("shape: invalid shape")

// Validate reports whether s can run: a name and a tick function.
func (s *Shape) Validate() error {
	switch {
	case s == nil:
		return fmt.Errorf("%w: nil", ErrInvalidShape)
	case strings.TrimSpace(s.Name) == "":
		return fmt.Errorf("%w: no name", ErrInvalidShape)
	case s.Tick == nil:
		return fmt.Errorf("%w: %s has no Tick function", ErrInvalidShape, s.Name)
	}
	return nil
}

var registry struct {
	mu     sync.Mutex
	shapes []*Shape
}

// Register makes a Go shape available to glocust.Main, as scenario.Register
// does for user classes: a scenario that names it (shape: {go: Name}) runs
// it, and so does one without a shape of its own when it is the only
// registered shape. It panics if s is invalid or its name is taken.
func Register(s *Shape) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for _, o := range registry.shapes {
		if o.Name == s.Name {
			panic(fmt.Sprintf("shape: shape %q registered twice", s.Name))
		}
	}
	registry.shapes = append(registry.shapes, s)
}

// Registered returns the registered shapes sorted by name.
func Registered() []*Shape {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := slices.Clone(registry.shapes)
	slices.SortFunc(out, func(a, b *Shape) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup returns the registered shape with that name, or nil.
func Lookup(name string) *Shape {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for _, s := range registry.shapes {
		if s.Name == name {
			return s
		}
	}
	return nil
}
