package master

import (
	"slices"

	"github.com/glocust/glocust/protocol"
)

// Liveness constants, as in Locust's runners.py.
const (
	HeartbeatLiveness   = 3   // HEARTBEAT_LIVENESS
	HeartbeatDeadAt     = -60 // HEARTBEAT_DEAD_INTERNAL
	cpuWarningThreshold = 90.0
)

// worker is Locust's WorkerNode.
type worker struct {
	id        string
	state     string
	heartbeat int
	cpu       float64
	mem       int64
	counts    map[string]int64 // reported user_classes_count
	cpuWarned bool
	takenBack bool
}

func (w *worker) userCount() int64 {
	var n int64
	for _, c := range w.counts {
		n += c
	}
	return n
}

func (w *worker) setCounts(cc []protocol.ClassCount) {
	w.counts = make(map[string]int64, len(cc))
	for _, c := range cc {
		w.counts[c.Class] = c.Count
	}
}

// registry is Locust's WorkerNodes plus the worker index table. It keeps
// insertion order like the Python dict (replacing a key keeps its place).
type registry struct {
	nodes     map[string]*worker
	order     []string
	indexes   map[string]int
	nextIndex int
}

func newRegistry() registry {
	return registry{nodes: map[string]*worker{}, indexes: map[string]int{}}
}

// index is get_worker_index: 0-based, stable per id while the master lives.
func (r *registry) index(id string) int {
	if i, ok := r.indexes[id]; ok {
		return i
	}
	i := r.nextIndex
	r.indexes[id] = i
	r.nextIndex++
	return i
}

func (r *registry) get(id string) *worker { return r.nodes[id] }

func (r *registry) put(w *worker) {
	if _, ok := r.nodes[w.id]; !ok {
		r.order = append(r.order, w.id)
	}
	r.nodes[w.id] = w
}

func (r *registry) del(id string) {
	if _, ok := r.nodes[id]; !ok {
		return
	}
	delete(r.nodes, id)
	r.order = slices.DeleteFunc(r.order, func(s string) bool { return s == id })
}

func (r *registry) all() []*worker {
	out := make([]*worker, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.nodes[id])
	}
	return out
}

func (r *registry) count(states ...string) int {
	n := 0
	for _, w := range r.nodes {
		if slices.Contains(states, w.state) {
			n++
		}
	}
	return n
}

// active lists ready + running + spawning workers (Locust's order).
func (r *registry) active() []string {
	var out []string
	for _, st := range []string{protocol.StateReady, protocol.StateRunning, protocol.StateSpawning} {
		for _, id := range r.order {
			if r.nodes[id].state == st {
				out = append(out, id)
			}
		}
	}
	return out
}

// workerCount is ready + spawning + running.
func (r *registry) workerCount() int {
	return r.count(protocol.StateReady, protocol.StateSpawning, protocol.StateRunning)
}

// userCount sums the users every worker reported.
func (r *registry) userCount() int64 {
	var n int64
	for _, w := range r.nodes {
		n += w.userCount()
	}
	return n
}

// reportedClassCounts is reported_user_classes_count (active workers only).
func (r *registry) reportedClassCounts() map[string]int64 {
	out := map[string]int64{}
	for _, w := range r.nodes {
		switch w.state {
		case protocol.StateReady, protocol.StateSpawning, protocol.StateRunning:
			for k, v := range w.counts {
				out[k] += v
			}
		}
	}
	return out
}
