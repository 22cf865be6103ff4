package logging

import (
	"bytes"
	"sync"
)

// RingSize is how many lines a Ring keeps: Locust's log reader keeps 500.
const RingSize = 500

// maxLine is the longest line a Ring keeps; a runaway line is cut.
const maxLine = 64 << 10

// Ring is an io.Writer that keeps the last RingSize complete lines written
// to it, for Locust's "logs" message and the master's /logs endpoint. It is
// safe for concurrent use.
type Ring struct {
	mu      sync.Mutex
	lines   []string // circular, len <= RingSize
	next    int      // where the next line goes once full
	total   int64    // lines ever written
	partial []byte   // an unterminated tail
}

// Write splits p into lines; a line without its newline waits for the rest.
func (r *Ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.partial = append(r.partial, p[:min(len(p), maxLine-len(r.partial))]...)
			break
		}
		line := string(p[:min(i, maxLine)])
		if len(r.partial) > 0 {
			line = string(r.partial) + string(p[:min(i, maxLine-len(r.partial))])
			r.partial = r.partial[:0]
		}
		r.add(line)
		p = p[i+1:]
	}
	return n, nil
}

func (r *Ring) add(line string) {
	r.total++
	if len(r.lines) < RingSize {
		r.lines = append(r.lines, line)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % RingSize
}

// Lines returns the kept lines, oldest first, and how many lines were ever
// written (so a reader can tell whether there is anything new).
func (r *Ring) Lines() ([]string, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	out = append(out, r.lines[:r.next]...)
	return out, r.total
}
