package stats

import (
	_ "unsafe" // for go:linkname
)

// Recording is sharded by the current P (the scheduler's processor), so a
// goroutine usually updates counters that only its own core writes: with
// many goroutines on few cores this avoids moving cache lines between cores
// on every record. The P id is a hint only: every update is atomic, so a
// goroutine that migrates between reading the id and recording is correct,
// just slower.

//go:linkname runtimeProcPin runtime.procPin
func runtimeProcPin() int

//go:linkname runtimeProcUnpin runtime.procUnpin
func runtimeProcUnpin()

// shardHint returns the id of the P running the caller.
func shardHint() int {
	id := runtimeProcPin()
	runtimeProcUnpin()
	return id
}
