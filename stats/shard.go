package stats

// Recording is sharded so that records running on different cores update
// different counters: with many goroutines on few cores this avoids moving
// cache lines between cores on every record. A record holds its shard alone
// from its first to its last write, which makes the shard single-writer and
// its buffers plain memory (see Entry). Entry.acquire takes that hold and
// returns the shard's index, or an index of len(e.shards) or more if it
// found no shard to hold: the record then calls release at once and takes
// the spill shard of index&mask (mutex-guarded) instead. Entry.release(index)
// ends what acquire took. Nothing between acquire and release may block.
//
// How the hold is taken depends on the build:
//
//   - By default (shard_procpin.go) the shard is the current P's, the
//     scheduler's processor: acquire pins the goroutine to its P with
//     runtime.procPin, reached by go:linkname as sync.Pool does, and until
//     release no other goroutine runs on that P. The hold costs no atomic
//     operation, and a P's shard stays in its core's cache. A P whose id
//     is not below len(e.shards) has no shard of its own.
//   - With the build tag glocust_nolinkname (shard_nolinkname.go), which
//     links nothing to the runtime, every shard has a mutex: acquire locks
//     the first free shard from a random one, or returns a spill index if
//     all are taken. This needs nothing from the scheduler, but costs two
//     more atomic operations per record, and shards move between cores.
//
// The pin stays the default because the lock is clearly slower: on two
// cores, BenchmarkRecord and BenchmarkRecordOne took 1.5 to 1.9 times the
// CPU time per record with one goroutine, and 2.4 to 5.6 times with 8 or
// 1,000 goroutines (medians of 6 runs). Neither build allocates per record.
