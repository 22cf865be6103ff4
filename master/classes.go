package master

import (
	"errors"
	"fmt"
	"slices"

	"github.com/glocust/glocust/protocol"
)

// The run's user classes: --class-picker selection and POST /user updates.

// activeClasses are the classes the next dispatcher gets: the picked ones
// (in configuration order), or all of them.
func (c *core) activeClasses() []UserClass {
	if c.picked == nil {
		return c.cfg.Classes
	}
	var out []UserClass
	for _, uc := range c.cfg.Classes {
		if slices.Contains(c.picked, uc.Name) {
			out = append(out, uc)
		}
	}
	return out
}

// pickClasses is --class-picker's part of POST /swarm, as Locust's: the
// named classes (unknown names ignored) become the run's classes; no names
// keeps the current selection while a test runs and selects all otherwise.
// The dispatcher of a running test keeps its classes: a new selection
// applies from the next start after a stop, as in Locust. It returns the
// selection, sorted.
func (c *core) pickClasses(names []string) ([]string, error) {
	var picked []string
	switch {
	case len(names) > 0:
		for _, uc := range c.cfg.Classes {
			if slices.Contains(names, uc.Name) && !slices.Contains(picked, uc.Name) {
				picked = append(picked, uc.Name)
			}
		}
		if len(picked) == 0 {
			return nil, fmt.Errorf("none of the selected user classes %v exists (available: %v)", names, c.classNames())
		}
	case c.state == StateRunning || c.state == StateSpawning:
		picked = c.picked
	}
	if len(picked) == len(c.cfg.Classes) {
		picked = nil // all of them
	}
	if c.disp != nil && !slices.Equal(picked, c.picked) && c.state != StateRunning && c.state != StateSpawning {
		c.disp = nil
	}
	c.picked = picked
	out := c.classNames()
	if picked != nil {
		out = slices.Clone(picked)
	}
	slices.Sort(out)
	return out, nil
}

func (c *core) classNames() []string {
	out := make([]string, 0, len(c.cfg.Classes))
	for _, uc := range c.cfg.Classes {
		out = append(out, uc.Name)
	}
	return out
}

// updateUserClass is Locust's Environment.update_user_class on the master
// (POST /user): weight and fixed_count of the named class change for the
// next dispatcher (from the next start after a stop), and the settings go to
// every worker as update_user_class, which applies them to its users.
func (c *core) updateUserClass(settings *protocol.Map) error {
	v, _ := settings.Get("user_class_name")
	name, _ := v.(string)
	i := slices.IndexFunc(c.cfg.Classes, func(uc UserClass) bool { return uc.Name == name })
	if i < 0 {
		if name == "" {
			return errors.New("user_class_name is missing")
		}
		return fmt.Errorf("unknown user class %q (available: %v)", name, c.classNames())
	}
	uc := c.cfg.Classes[i]
	for j, k := range settings.Keys {
		key, _ := k.(string)
		switch key {
		case "weight", "fixed_count":
			n, ok := intValue(settings.Values[j])
			if !ok || n < 0 {
				return fmt.Errorf("%s must be a non-negative integer, got %v", key, settings.Values[j])
			}
			if key == "weight" {
				uc.Weight = int(n)
			} else {
				uc.FixedCount = int(n)
			}
		}
	}
	classes := slices.Clone(c.cfg.Classes) // cfg.Classes may be shared with the caller
	classes[i] = uc
	c.cfg.Classes = classes
	if c.disp != nil && c.state != StateRunning && c.state != StateSpawning {
		c.disp = nil
	}
	sent := 0
	for _, w := range c.reg.all() {
		if c.sendTo(w, &protocol.UpdateUserClass{Data: settings}) {
			sent++
		} else {
			c.log.Warn(fmt.Sprintf("Worker %s runs Locust %s, which cannot update user classes: its users keep the old settings",
				w.id, w.version))
		}
	}
	c.log.Info(fmt.Sprintf("Updated user class %s and sent it to %d workers", name, sent))
	return nil
}

func intValue(v protocol.Value) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= 1<<62
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

// PickClasses applies --class-picker's user_classes of a POST /swarm (see
// core.pickClasses) and returns the run's classes, sorted.
func (m *Master) PickClasses(names []string) (picked []string, err error) {
	m.Do(func(v *View) { picked, err = v.c.pickClasses(names) })
	return picked, err
}

// UpdateUserClass applies POST /user's settings (see core.updateUserClass).
func (m *Master) UpdateUserClass(settings *protocol.Map) (err error) {
	m.Do(func(v *View) { err = v.c.updateUserClass(settings) })
	return err
}
