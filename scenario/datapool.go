package scenario

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// Placement is the worker's place in the cluster, which splits unique
// data between workers (see DataUnique).
type Placement struct {
	// Index is Locust's worker index (the master's ack): 0, 1, ... in
	// the order workers registered; a master never gives an index twice,
	// so a worker that replaces another gets a new one. -1: unknown.
	Index int
	// Slot is the share of unique data the worker takes: a glocust master
	// gives each worker the lowest slot no live worker holds, so a worker
	// that replaces a departed one takes over its rows; under a Locust
	// master, which has no slots, it is Index. -1: none.
	Slot int
	// Count is the number of shares: the master's --expect-workers (Locust
	// sends it to workers in the spawn's parsed_options).
	Count int
}

// StandalonePlacement is the place of a runner alone: the whole data.
var StandalonePlacement = Placement{Index: 0, Slot: 0, Count: 1}

// dataPool hands out the rows of one DataSet to the users of one runner.
type dataPool struct {
	set *DataSet

	mu    sync.Mutex
	place Placement
	free  []int  // DataUnique: rows of the share no user holds, oldest released first
	head  int    // free[head:] is the queue
	held  []bool // DataUnique: rows a user of this runner holds
	nheld int    // DataUnique: how many of held are true
	next  int    // DataCycle: the next position in the share
}

func newDataPool(d *DataSet, p Placement) *dataPool {
	dp := &dataPool{set: d}
	if d.Mode == DataUnique {
		dp.held = make([]bool, d.Len())
	}
	dp.setPlacement(p)
	return dp
}

// hasShare reports whether p gives a share of unique rows.
func (p Placement) hasShare() bool { return p.Count > 0 && p.Slot >= 0 && p.Slot < p.Count }

// inShare reports whether row r is in p's share.
func (p Placement) inShare(r int) bool { return p.hasShare() && r%p.Count == p.Slot }

// setPlacement changes the share. Rows users hold stay theirs; the free
// queue is rebuilt from the new share's rows no user holds, and a row of
// the old share is dropped when its user releases it.
func (dp *dataPool) setPlacement(p Placement) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if p == dp.place && (dp.free != nil || dp.set.Mode != DataUnique) {
		return
	}
	dp.place, dp.next = p, 0
	if dp.set.Mode != DataUnique {
		return
	}
	dp.free, dp.head = dp.free[:0], 0
	if !p.hasShare() {
		return
	}
	for r := p.Slot; r < len(dp.held); r += p.Count {
		if !dp.held[r] {
			dp.free = append(dp.free, r)
		}
	}
}

// lease gives a user a row; rnd is the user's random source.
func (dp *dataPool) lease(rnd *rand.Rand) (Row, error) {
	n := dp.set.Len()
	switch dp.set.Mode {
	case DataRandom:
		return Row{set: dp.set, i: rnd.IntN(n)}, nil
	case DataCycle:
		dp.mu.Lock()
		defer dp.mu.Unlock()
		slot, count := max(dp.place.Slot, 0), max(dp.place.Count, 1)
		if slot %= count; slot >= n {
			slot, count = 0, 1 // no share: the whole file
		}
		size := (n - slot + count - 1) / count
		r := slot + (dp.next%size)*count
		dp.next++
		return Row{set: dp.set, i: r}, nil
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.head == len(dp.free) {
		return Row{}, dp.noRow()
	}
	r := dp.free[dp.head]
	dp.head++
	if dp.head > 64 && dp.head*2 > len(dp.free) {
		dp.free = dp.free[:copy(dp.free, dp.free[dp.head:])]
		dp.head = 0
	}
	dp.held[r] = true
	dp.nheld++
	return Row{set: dp.set, i: r}, nil
}

// release takes back a unique row when its user stops, and reports
// whether another user can now lease it.
func (dp *dataPool) release(row Row) bool {
	if dp.set.Mode != DataUnique || row.set != dp.set {
		return false
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.held[row.i] = false
	dp.nheld--
	if dp.place.inShare(row.i) {
		dp.free = append(dp.free, row.i)
		return true
	}
	return false
}

// heldRows is the number of unique rows users hold (stopping users too,
// until they exit).
func (dp *dataPool) heldRows() int {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.nheld
}

// noRow explains why no unique row is free.
func (dp *dataPool) noRow() error {
	p, n := dp.place, dp.set.Len()
	name := dp.set.Name
	switch {
	case p.Count <= 0 || p.Slot < 0:
		return fmt.Errorf("data %s (unique): this worker has no share of the rows (worker index %d unknown or master without indexes)", name, p.Index)
	case p.Slot >= p.Count:
		return fmt.Errorf("data %s (unique): this worker's slot %d is outside the %d share(s) the rows are split in "+
			"(the master's --expect-workers; a Locust master never gives a departed worker's index again, "+
			"so a worker that replaces one has no share: start the master with a larger --expect-workers, or use a glocust master, which reuses slots)",
			name, p.Slot, p.Count)
	case p.Slot >= n:
		return fmt.Errorf("data %s (unique): %d rows split in %d shares leave none for slot %d", name, n, p.Count, p.Slot)
	}
	size := (n - p.Slot + p.Count - 1) / p.Count
	return fmt.Errorf("data %s (unique): all %d rows of this worker's share (slot %d of %d) are held by running users; add rows or use mode cycle", name, size, p.Slot, p.Count)
}
