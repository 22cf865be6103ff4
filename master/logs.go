package master

import "slices"

// Bounds of the worker logs the master keeps: a worker sends at most 500
// lines (Locust's buffer) of which the last maxLogBytes are kept, and the
// logs of at most maxLogWorkers senders are kept (the oldest sender's go
// first), so chatty or hostile peers cannot grow the master without bound.
const (
	maxLogLines   = 500
	maxLogBytes   = 128 << 10
	maxLogWorkers = 1000
)

// workerLogs holds each worker's last "logs" message. The core goroutine
// owns it.
type workerLogs struct {
	byID  map[string][]string
	order []string // first arrival order, for eviction
}

func (w *workerLogs) put(id string, lines []string) {
	if len(lines) > maxLogLines {
		lines = lines[len(lines)-maxLogLines:]
	}
	size, first := 0, len(lines)
	for first > 0 && size+len(lines[first-1]) <= maxLogBytes {
		first--
		size += len(lines[first])
	}
	lines = lines[first:]
	if w.byID == nil {
		w.byID = map[string][]string{}
	}
	if _, ok := w.byID[id]; !ok {
		if len(w.order) >= maxLogWorkers {
			delete(w.byID, w.order[0])
			w.order = slices.Delete(w.order, 0, 1)
		}
		w.order = append(w.order, id)
	}
	w.byID[id] = slices.Clone(lines) // the decoded frame may be reused
}

func (w *workerLogs) all() map[string][]string {
	out := make(map[string][]string, len(w.byID))
	for id, l := range w.byID {
		out[id] = slices.Clone(l)
	}
	return out
}
