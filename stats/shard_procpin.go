//go:build !glocust_nolinkname

package stats

import (
	_ "unsafe" // for go:linkname
)

// Go's runtime (runtime/proc.go, Go 1.26) marks procPin and procUnpin as
// go:linkname targets it keeps for the packages that use them ("Do not
// remove or change the type signature"), so the linker's -checklinkname
// accepts these references. If a Go release withdraws them, build with
// -tags glocust_nolinkname.

//go:linkname runtimeProcPin runtime.procPin
func runtimeProcPin() int

//go:linkname runtimeProcUnpin runtime.procUnpin
func runtimeProcUnpin()

// shardLock is empty in this build: the pin makes a P's shard single-writer.
type shardLock struct{}

// eagerShards: a P's shard is allocated by the first record on that P.
const eagerShards = false

// acquire pins the goroutine to its P and returns the P's id, the index of
// its shard if it has one.
func (e *Entry) acquire() int { return runtimeProcPin() }

// release unpins the goroutine; the argument (acquire's index) is unused.
func (e *Entry) release(int) { runtimeProcUnpin() }
