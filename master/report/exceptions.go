package report

import (
	"slices"
	"sync"
)

// Exception is one group of exception reports with the same traceback, as
// Locust's master keeps them (runner.exceptions): the number of reports,
// the message of the first one, the traceback and the reporting nodes,
// sorted (Locust keeps a set, whose order is unspecified).
type Exception struct {
	Count     int
	Msg       string
	Traceback string
	Nodes     []string
}

// Exceptions groups "exception" messages by traceback text like Locust's
// log_exception. It is safe for concurrent use.
type Exceptions struct {
	mu     sync.Mutex
	groups map[string]*exceptionGroup
	order  []string // tracebacks in first-seen order (Locust's dict order)
}

type exceptionGroup struct {
	count int
	msg   string
	nodes map[string]struct{}
}

// NewExceptions returns an empty set of exceptions.
func NewExceptions() *Exceptions {
	return &Exceptions{groups: map[string]*exceptionGroup{}}
}

// Add records one exception reported by node. The first message seen for
// a traceback is kept, as in Locust.
func (e *Exceptions) Add(node, msg, traceback string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[traceback]
	if g == nil {
		g = &exceptionGroup{msg: msg, nodes: map[string]struct{}{}}
		e.groups[traceback] = g
		e.order = append(e.order, traceback)
	}
	g.count++
	g.nodes[node] = struct{}{}
}

// List returns the groups in the order their tracebacks were first seen.
func (e *Exceptions) List() []Exception {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Exception, 0, len(e.order))
	for _, tb := range e.order {
		g := e.groups[tb]
		nodes := make([]string, 0, len(g.nodes))
		for n := range g.nodes {
			nodes = append(nodes, n)
		}
		slices.Sort(nodes)
		out = append(out, Exception{Count: g.count, Msg: g.msg, Traceback: tb, Nodes: nodes})
	}
	return out
}

// Len returns the number of groups.
func (e *Exceptions) Len() int {
	if e == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.order)
}

// Reset drops every group (Locust's /stats/reset and a new test).
func (e *Exceptions) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.groups = map[string]*exceptionGroup{}
	e.order = nil
}
