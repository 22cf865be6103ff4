package scenario

import (
	"slices"
)

// FilterTags keeps only the tasks that pass Locust's tag filter, in every
// class: with include non-empty a task must carry one of its tags, with
// exclude non-empty it must carry none of its tags (a task without tags
// passes an exclude filter). A task group's tags count as tags of every
// task in it; a group is kept, with its tasks that pass, when one of them
// passes (Locust's filter_tasks_by_tags). Both nil changes nothing. Like
// Locust's Environment it filters once: later calls are ignored, and it
// reports whether this call filtered. A class left without tasks is logged; its
// users report "No tasks defined" as in Locust.
func (r *Runner) FilterTags(include, exclude []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tagsFiltered {
		return false
	}
	r.tagsFiltered = true
	if len(include) == 0 && len(exclude) == 0 {
		return true
	}
	for _, cr := range r.order {
		kept := filterTasks(cr.base.Tasks, nil, include, exclude)
		cr.base.Tasks = kept
		cfg := *cr.cfg.Load()
		cfg.tasks = newTaskPicker(kept, cr.base.Sequential)
		cr.cfg.Store(&cfg)
		if len(kept) == 0 {
			r.log.Warn(cr.name + " had no tasks left after filtering, instantiating it will fail!")
		}
	}
	return true
}

func tagsPass(tags, include, exclude []string) bool {
	hasAny := func(set []string) bool {
		for _, t := range tags {
			if slices.Contains(set, t) {
				return true
			}
		}
		return false
	}
	if len(include) > 0 && !hasAny(include) {
		return false
	}
	return len(exclude) == 0 || !hasAny(exclude)
}
