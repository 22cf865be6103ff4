//go:build glocust_nolinkname

package stats

import (
	"math/rand/v2"
	"sync"
)

// shardLock makes a shard single-writer in this build: a record holds lock
// from its first to its last write.
type shardLock struct{ lock sync.Mutex }

// eagerShards: acquire locks shards that may not have had a record yet, so
// every entry allocates all its shards at creation.
const eagerShards = true

// acquire locks the first free shard of e, trying them in turn from a
// random one, and returns its index; if all are held it returns
// len(e.shards) plus a random index, so that the record takes a spill shard.
// It never waits.
func (e *Entry) acquire() int {
	start := int(rand.Uint32())
	for i := range e.shards {
		id := (start + i) & e.mask
		if e.shards[id].Load().lock.TryLock() {
			return id
		}
	}
	return len(e.shards) + start&e.mask
}

// release unlocks the shard acquire returned, if it returned one.
func (e *Entry) release(id int) {
	if id < len(e.shards) {
		e.shards[id].Load().lock.Unlock()
	}
}
