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
	users     int64            // sum of counts, kept with them
	cpuWarned bool
	takenBack bool
	// health is the last heartbeat's glocust health keys (hasHealth: it
	// had them; master/health.go); throttleWarned and memWarned, like
	// cpuWarned, keep each warning to once per worker.
	health                    protocol.WorkerHealth
	hasHealth                 bool
	throttleWarned, memWarned bool
	// version is the worker's Locust version, from its client_ready
	// (master/dialect.go); protocol.Reference for a taken-back worker.
	version protocol.Version
	// seq is the last glocust stats sequence number counted for this node
	// id (0: none): a report whose Seq is not above it was counted
	// already (docs/protocol.md section 9).
	seq uint64
}

// userCount is the sum of the reported user_classes_count.
func (w *worker) userCount() int64 { return w.users }

// tally holds the registry's per-state worker counts and user total. It is
// kept up to date on every change so that the per-message checks are O(1).
type tally struct {
	ready, spawning, running, missing int
	startable                         int   // readyForStart's predicate
	users                             int64 // sum of every worker's userCount
}

// account adds (sign 1) or removes (sign -1) w's contribution.
func (t *tally) account(w *worker, sign int) {
	switch w.state {
	case protocol.StateReady:
		t.ready += sign
	case protocol.StateSpawning:
		t.spawning += sign
	case protocol.StateRunning:
		t.running += sign
	case protocol.StateMissing:
		t.missing += sign
	}
	if w.state == protocol.StateReady || (w.takenBack && w.state != protocol.StateMissing) {
		t.startable += sign
	}
	// Two's-complement sums wrap alike in any order: the total stays the
	// exact (wrapped) sum of the per-worker sums.
	t.users += int64(sign) * w.users
}

// registry is Locust's WorkerNodes plus the worker index table. It keeps
// insertion order like the Python dict (replacing a key keeps its place).
type registry struct {
	nodes     map[string]*worker
	order     []*worker // insertion order of nodes' values
	indexes   map[string]int
	nextIndex int
	tally     tally
	// retired keeps the last counted seq of node ids whose record was
	// deleted, so that a record made again for the id (client_ready after
	// a stop, a take-back) does not count a report a second time.
	retired map[string]uint64
	slots   slots // data slots of live workers (slots.go)
}

// maxRetired bounds registry.retired: past it the memories are dropped
// (they only matter for workers that come back).
const maxRetired = 1 << 16

func newRegistry() registry {
	return registry{nodes: map[string]*worker{}, indexes: map[string]int{}, retired: map[string]uint64{}}
}

// lastSeq is the last counted seq of id, registered or retired.
func (r *registry) lastSeq(id string) uint64 {
	if w := r.nodes[id]; w != nil {
		return w.seq
	}
	return r.retired[id]
}

// retire remembers seq as the last counted seq of the deleted node id.
// Every deleted node is remembered (seq 0: none counted yet), so that a
// glocust report arriving after the deletion is known to come from one of
// this master's workers (core.lateReport).
func (r *registry) retire(id string, seq uint64) {
	if _, ok := r.retired[id]; !ok && len(r.retired) >= maxRetired {
		clear(r.retired)
	}
	r.retired[id] = seq
}

// retiredSeq is the last counted seq of a deleted node id, and whether id
// is one.
func (r *registry) retiredSeq(id string) (uint64, bool) {
	seq, ok := r.retired[id]
	return seq, ok
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

// put adds w, or replaces the worker with its id in place. w's state and
// counts must then change only through setState, setCounts and clearCounts.
// w keeps the last counted seq of the record it replaces or of the retired
// id.
func (r *registry) put(w *worker) {
	w.users = sumCounts(w.counts)
	if old, ok := r.nodes[w.id]; ok {
		w.seq = max(w.seq, old.seq)
		r.tally.account(old, -1)
		r.order[slices.Index(r.order, old)] = w
	} else {
		if seq, ok := r.retired[w.id]; ok {
			w.seq = max(w.seq, seq)
			delete(r.retired, w.id)
		}
		r.order = append(r.order, w)
	}
	r.nodes[w.id] = w
	r.tally.account(w, 1)
}

func (r *registry) del(id string) {
	w, ok := r.nodes[id]
	if !ok {
		return
	}
	r.tally.account(w, -1)
	r.slots.forget(id)
	delete(r.nodes, id)
	r.retire(id, w.seq)
	r.order = slices.DeleteFunc(r.order, func(x *worker) bool { return x == w })
}

// setState changes a registered worker's state.
func (r *registry) setState(w *worker, state string) {
	if w.state == state {
		return
	}
	if state == protocol.StateMissing {
		r.slots.free(w.id)
	}
	r.tally.account(w, -1)
	w.state = state
	r.tally.account(w, 1)
}

// setCounts replaces a registered worker's reported user_classes_count.
func (r *registry) setCounts(w *worker, cc []protocol.ClassCount) {
	if sameCounts(w.counts, cc) {
		return // the usual report: nothing changed
	}
	counts := make(map[string]int64, len(cc))
	for _, c := range cc {
		counts[c.Class] = c.Count
	}
	r.tally.account(w, -1)
	w.counts, w.users = counts, sumCounts(counts)
	r.tally.account(w, 1)
}

// clearCounts forgets a registered worker's user counts (missing workers).
func (r *registry) clearCounts(w *worker) {
	r.tally.account(w, -1)
	w.counts, w.users = nil, 0
	r.tally.account(w, 1)
}

// sameCounts reports whether setting cc would leave m as it is: m is not
// nil and holds exactly cc's classes and counts. It only answers true for
// a few classes (a repeated class in cc makes the check quadratic).
func sameCounts(m map[string]int64, cc []protocol.ClassCount) bool {
	if m == nil || len(m) != len(cc) || len(cc) > 16 {
		return false
	}
	for i, c := range cc {
		if n, ok := m[c.Class]; !ok || n != c.Count {
			return false
		}
		for _, d := range cc[:i] {
			if d.Class == c.Class {
				return false // a repeated class: m has a class cc lacks
			}
		}
	}
	return true
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, c := range m {
		n += c
	}
	return n
}

// all returns a copy of the workers in insertion order. The hot paths use
// the tally or iterate r.order directly instead.
func (r *registry) all() []*worker { return slices.Clone(r.order) }

// len is the number of registered workers, whatever their state.
func (r *registry) len() int { return len(r.order) }

// readyCount is the number of workers in state ready.
func (r *registry) readyCount() int { return r.tally.ready }

// startable is readyForStart: ready workers plus taken-back ones that are
// not missing.
func (r *registry) startable() int { return r.tally.startable }

// active lists ready + running + spawning workers (Locust's order).
func (r *registry) active() []string {
	var out []string
	for _, st := range []string{protocol.StateReady, protocol.StateRunning, protocol.StateSpawning} {
		for _, w := range r.order {
			if w.state == st {
				out = append(out, w.id)
			}
		}
	}
	return out
}

// workerCount is ready + spawning + running.
func (r *registry) workerCount() int {
	return r.tally.ready + r.tally.spawning + r.tally.running
}

// userCount sums the users every worker reported.
func (r *registry) userCount() int64 { return r.tally.users }

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
