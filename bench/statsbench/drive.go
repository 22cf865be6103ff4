package statsbench

import (
	"sync"
	"sync/atomic"
	"time"
)

// Result is what one run recorded.
type Result struct {
	Goroutines int
	Records    int64
	Content    int64
	PerName    [NumNames]int64
	Elapsed    time.Duration // from the start gate until the last producer returned
}

// RecordsPerSecond is Records / Elapsed.
func (r Result) RecordsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Records) / r.Elapsed.Seconds()
}

// Load says how much one run records.
type Load struct {
	Goroutines int
	// Records is the total number of records, split evenly over the
	// goroutines (the remainder goes to goroutine 0). Used if Duration is 0.
	Records int64
	// Duration, if set, makes every goroutine record until it has passed.
	Duration time.Duration
	// Ready, if set, is called when every goroutine waits at the start gate,
	// just before the gate opens (a benchmark resets its timer there).
	Ready func()
}

// producer is one goroutine's tally, padded to its own cache lines.
type producer struct {
	n, content int64
	perName    [NumNames]int64
	_          [64]byte
}

// Drive runs load against rec: the same loop for every recorder. Goroutine w
// records request i as name (w+i) mod 20, with a response time between 0.1
// and 200 ms and a content length between 512 and 575 bytes, both derived
// from (w, i).
func Drive(rec Recorder, load Load) Result {
	g := max(load.Goroutines, 1)
	tallies := make([]producer, g)
	handles := make([]Handle, g)
	for w := range handles {
		handles[w] = rec.Handle(w)
	}
	var stop atomic.Bool
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	per := load.Records / int64(g)
	for w := range g {
		n := int64(-1) // until stopped
		if load.Duration <= 0 {
			n = per
			if w == 0 {
				n += load.Records % int64(g)
			}
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			h := handles[w]
			t := &tallies[w]
			ready.Done()
			<-gate
			produce(h, w, n, &stop, t)
			h.Done()
		}()
	}
	ready.Wait()
	if load.Ready != nil {
		load.Ready()
	}
	start := time.Now()
	close(gate)
	if load.Duration > 0 {
		time.Sleep(load.Duration)
		stop.Store(true)
	}
	done.Wait()
	res := Result{Goroutines: g, Elapsed: time.Since(start)}
	for i := range tallies {
		t := &tallies[i]
		res.Records += t.n
		res.Content += t.content
		for k, c := range t.perName {
			res.PerName[k] += c
		}
	}
	return res
}

// produce is the benchmark loop body: n records (n < 0: until stop).
func produce(h Handle, w int, n int64, stop *atomic.Bool, t *producer) {
	var perName [NumNames]int64
	var i, content int64
	for ; i != n; i++ {
		if n < 0 && i&15 == 0 && stop.Load() {
			break
		}
		k := (int64(w) + i) % NumNames
		rt := time.Duration(1+(uint64(i)*2654435761+uint64(w))%2000) * 100 * time.Microsecond
		length := 512 + i&63
		h.Record(int(k), Method, Names[k], rt, length)
		perName[k]++
		content += length
	}
	t.n, t.content, t.perName = i, content, perName
}
