package master

import "github.com/glocust/glocust/protocol"

// Each worker's dialect: a Locust worker logs a warning for every message
// of a type its version does not handle (docs/protocol.md section 7.1), so
// the master sends a worker only the types its version handles. The version
// is the one the worker announced in client_ready.

// workerVersion returns the Locust version of a worker that sent m: the
// version it announces; protocol.Reference for -1, which only glocust
// workers send (they handle every type); protocol.Baseline for an empty or
// unparsable version (Debian's Locust 2.12 package announces "").
func workerVersion(m *protocol.ClientReady) protocol.Version {
	if m.SkipVersionCheck {
		return protocol.Reference
	}
	if v, ok := protocol.ParseVersion(m.Version); ok {
		return v
	}
	return protocol.Baseline
}

// sendTo sends p to the registered worker w if w's Locust version handles
// its type, and reports whether it did.
func (c *core) sendTo(w *worker, p protocol.Payload) bool {
	if !protocol.Handles(w.version, protocol.FromMaster, p.MessageType()) {
		return false
	}
	c.out(w.id, p)
	return true
}
