package worker

import "github.com/glocust/glocust/protocol"

// The master's dialect: the message types a worker may send depend on the
// master's Locust version (docs/protocol.md section 7.1). A Locust master
// logs a warning for every message of a type it does not know, and nothing
// it sends names its version, so the worker takes the version it announces
// (--locust-version): a Locust master warns about a worker of any other
// minor version, so a worker that announces X runs under a master of X.

// masterVersionFor returns the Locust version a worker assumes its master
// runs when it announces announced: that version, or protocol.Baseline for
// -1 (no version check) and for anything else that is not a version.
func masterVersionFor(announced string) protocol.Version {
	if v, ok := protocol.ParseVersion(announced); ok {
		return v
	}
	return protocol.Baseline
}

// masterHandles reports whether the master handles messages of type typ
// (custom types are assumed handled). Run's goroutine only.
func (w *Worker) masterHandles(typ string) bool {
	return protocol.Handles(w.masterVersion, protocol.FromWorker, typ)
}

// masterSends reports whether the master's Locust version sends messages of
// type typ (for example spawning_complete, from 2.29). Run's goroutine only.
func (w *Worker) masterSends(typ string) bool {
	return protocol.Handles(w.masterVersion, protocol.FromMaster, typ)
}

// heardFromMaster raises the assumed master version when a message of type
// typ shows a newer one: only Locust 2.29 and later (and glocust) masters
// send spawning_complete, so a worker announcing -1 sends its logs once it
// received one. The assumed version never goes down. Run's goroutine only.
func (w *Worker) heardFromMaster(typ string) {
	since, ok := protocol.Since(protocol.FromMaster, typ)
	if !ok || w.masterVersion.AtLeast(since) {
		return
	}
	w.log.Info("the master sent a message of a newer Locust than assumed", "type", typ,
		"assumed", w.masterVersion.String(), "now", since.String())
	w.masterVersion = since
}
