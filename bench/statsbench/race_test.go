//go:build race

package statsbench

// boomer at the pinned commit races on its own runner fields (numClients,
// fixed upstream later in "fix race conditions"), so -race skips it.
const raceEnabled = true
