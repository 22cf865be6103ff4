package stats

import (
	_ "unsafe" // for go:linkname
)

// Recording is sharded by the current P (the scheduler's processor), so a
// goroutine updates counters that only its own core writes: with many
// goroutines on few cores this avoids moving cache lines between cores on
// every record. A record holds the pin (runtime.procPin: the goroutine
// cannot be preempted or descheduled, so no other goroutine runs on that P)
// from its first to its last write, which makes the P's shard
// single-writer: see Entry. Nothing between pin and unpin may block.

//go:linkname runtimeProcPin runtime.procPin
func runtimeProcPin() int

//go:linkname runtimeProcUnpin runtime.procUnpin
func runtimeProcUnpin()
