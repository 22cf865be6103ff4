//go:build !race

package statsbench

const raceEnabled = false
