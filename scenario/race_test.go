//go:build race

package scenario

// raceEnabled: under the race detector sync.Pool drops some of what is
// put back, so pooled buffers are allocated again now and then.
const raceEnabled = true
