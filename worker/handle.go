package worker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
)

// handle processes one frame from the master. It returns done=true when Run
// must return err.
func (l *loop) handle(f zmq.Frame) (bool, error) {
	w := l.w
	env, err := protocol.Decode(f.Payload, protocol.FromMaster)
	if err != nil {
		w.log.Warn("ignoring undecodable message from master", "err", err)
		return false, nil
	}
	if env.NodeID != "" && env.NodeID != w.nodeID {
		w.log.Debug("message for another node id", "type", env.Type(), "node_id", env.NodeID)
	}
	w.heardFromMaster(env.Type())
	switch m := env.Payload.(type) {
	case *protocol.Ack:
		if m.HasIndex {
			w.stateMu.Lock()
			old := w.slot
			w.index, w.slot = m.Index, m.Index
			if m.HasSlot {
				w.slot = m.Slot
			}
			moved := w.slot != old && (w.state == protocol.StateRunning || w.state == protocol.StateSpawning)
			w.stateMu.Unlock()
			if moved {
				// A new slot during a test (a glocust master moved the
				// worker into a departed worker's): the users learn it now.
				w.place(w.ParsedOptions())
			}
		}
		if !l.registered && !l.wantReady {
			// An ack between client_stopped and client_ready (a glocust
			// master moving data slots as another worker stops): the new
			// slot is kept, but registration waits for client_ready's ack.
			break
		}
		first := !l.registered
		l.registered = true
		w.registered.Store(true)
		l.wantReady = false
		l.unackedSince = time.Time{}
		l.connectT.Stop()
		if !l.lastMasterHB.IsZero() {
			l.lastMasterHB = w.now()
		}
		if first {
			w.log.Info("registered with master", "master", w.endpoint, "index", m.Index)
			if !l.sendStats() {
				l.sendHeartbeat() // its reply settles the reports of the last connection
			}
			l.flushExceptions()
		}
	case *protocol.MasterHeartbeat:
		l.masterHeartbeat(m)
	case *protocol.Spawn:
		l.spawn(m)
	case *protocol.MasterSpawningComplete:
		w.log.Info("master reports spawning complete", "user_count", m.UserCount)
		if w.resetStats {
			w.stats.Reset(w.now())
			l.carry.Clear() // the master resets its stats now too
		}
	case *protocol.Stop:
		l.stop()
	case *protocol.Quit:
		w.log.Info("got quit message from master, shutting down", "users", formatCounts(w.users.Counts()))
		// A Locust master counts the reports that arrive within 0.5 s of its
		// quit: what was recorded so far leaves at once, before the users
		// stop (which may take the stop timeout), and what finished while
		// they stopped follows.
		l.sendStats()
		l.stopUsers(max(w.stopTimeout, finishGrace))
		l.drainOutbox()
		l.sendStats()
		l.send(&protocol.Quit{})
		l.giveUpAfterQuit()
		return true, nil
	case *protocol.Reconnect:
		w.log.Warn("master asked to reconnect, resetting connection")
		l.resetConnection()
	case *protocol.UpdateUserClass:
		l.updateUserClass(m)
	case *protocol.Custom:
		if h, ok := w.handlers[m.Type]; ok {
			l.safeHandler(m.Type, h, m.Data)
		} else {
			w.log.Warn("unknown message type from master", "type", m.Type)
		}
	default:
		w.log.Warn("unexpected message type from master", "type", env.Type())
	}
	return false, nil
}

func (l *loop) safeHandler(typ string, h MessageHandler, data protocol.Value) {
	defer func() {
		if r := recover(); r != nil {
			l.w.log.Error("handler for custom message panicked", "type", typ, "panic", r)
		}
	}()
	h(data)
}

func (l *loop) spawn(m *protocol.Spawn) {
	w := l.w
	l.send(&protocol.Spawning{})
	if m.Timestamp <= w.lastSpawn {
		w.log.Info("discarding spawn message with an older or equal timestamp than the previous one")
		return
	}
	w.lastSpawn = m.Timestamp
	if l.stopping {
		w.log.Warn("spawn received while stopping; applying it after the stop is not supported, ignoring")
		return
	}
	w.stateMu.Lock()
	w.parsedOptions = m.ParsedOptions
	w.stateMu.Unlock()
	w.stopTimeout = durationFromSeconds(m.StopTimeout)
	host := ""
	if m.HasHost {
		host = m.Host
	}
	w.host = host
	w.users.SetHost(host)
	if st := w.State(); st != protocol.StateRunning && st != protocol.StateSpawning {
		w.stats.Reset(w.now()) // a new test starts: Locust clears stats here
		clear(w.unknownReported)
		w.filterTags(m.ParsedOptions)
	}
	w.setState(protocol.StateSpawning)
	w.reportUnknownClasses(m.UserClassesCount)
	w.place(m.ParsedOptions)
	w.users.Apply(m.UserClassesCount)
	if w.resetStats && !w.masterSends(protocol.TypeSpawningComplete) {
		// Before 2.29 a Locust worker's own spawning_complete event, fired
		// on every spawn it applied, reset its stats under --reset-stats.
		w.stats.Reset(w.now())
	}
	l.send(&protocol.SpawningComplete{UserClassesCount: w.users.Counts(), UserCount: w.users.UserCount()})
	w.setState(protocol.StateRunning)
}

// reportUnknownClasses reports each class of a spawn that the worker's
// users lack (a Python locustfile and its YAML twin that drifted apart) as
// an error in the worker's log, which reaches the master's /logs, and as
// an exception message, which the master shows with its exceptions and
// counts in its exit code. Each class is reported once per test, not once
// per spawn message. The known classes still run. A Locust worker fails
// the whole spawn instead, with a KeyError that only its own log shows.
func (w *Worker) reportUnknownClasses(targets []protocol.ClassCount) {
	var known []string
	for _, t := range targets {
		if w.unknownReported[t.Class] {
			continue
		}
		if known == nil {
			for _, c := range w.users.Counts() {
				known = append(known, c.Class)
			}
		}
		if slices.Contains(known, t.Class) {
			continue
		}
		if w.unknownReported == nil {
			w.unknownReported = map[string]bool{}
		}
		w.unknownReported[t.Class] = true
		have := strings.Join(known, ", ")
		if have == "" {
			have = "none"
		}
		msg := fmt.Sprintf("Unknown user class %q in the master's spawn message: this worker's scenario has %s; it runs no %s users",
			t.Class, have, t.Class)
		w.log.Error(msg)
		// The master groups exceptions by traceback: one per class.
		w.ReportException(msg, fmt.Sprintf("glocust worker: spawn message with user class %q, not in the worker's scenario (%s)\n", t.Class, have))
	}
}

// stop stops the users in the background (heartbeats go on), then the loop
// sends client_stopped and, after stop_timeout, client_ready.
func (l *loop) stop() {
	if l.stopping {
		return
	}
	l.stopping = true
	done := make(chan struct{})
	l.stopDone = done
	w := l.w
	timeout := w.stopTimeout
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), timeout+5e9)
		defer cancel()
		w.users.StopAll(ctx, timeout)
	}()
}

func (l *loop) updateUserClass(m *protocol.UpdateUserClass) {
	w := l.w
	name, _ := m.Data.Get("user_class_name")
	class, _ := name.(string)
	attrs := map[string]any{}
	for i, k := range m.Data.Keys {
		ks, ok := k.(string)
		if !ok || ks == "user_class_name" {
			continue
		}
		attrs[ks] = plain(m.Data.Values[i])
	}
	ignored := w.users.UpdateClass(class, attrs)
	w.log.Info("updated user class", "class", class, "ignored", ignored)
}

// plain converts protocol values into plain Go values for user code.
func plain(v protocol.Value) any {
	switch x := v.(type) {
	case *protocol.Map:
		out := make(map[string]any, x.Len())
		for i, k := range x.Keys {
			if ks, ok := k.(string); ok {
				out[ks] = plain(x.Values[i])
			}
		}
		return out
	case []protocol.Value:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	default:
		return v
	}
}

// formatCounts renders counts as "A=1 B=2" for logs.
func formatCounts(cc []protocol.ClassCount) string {
	var b strings.Builder
	for i, c := range cc {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Class)
		b.WriteByte('=')
		b.WriteString(strconv.FormatInt(c.Count, 10))
	}
	return b.String()
}

// filterTags applies the tag filter once, before the first users start:
// the master's tags/exclude_tags (non-empty lists in the spawn's
// parsed_options) win over the worker's own.
func (w *Worker) filterTags(opts *protocol.Map) {
	f, ok := w.users.(TagFilter)
	if !ok {
		return
	}
	include, exclude := w.tags, w.excludeTags
	if l := stringList(opts, "tags"); len(l) > 0 {
		include = l
	}
	if l := stringList(opts, "exclude_tags"); len(l) > 0 {
		exclude = l
	}
	if f.FilterTags(include, exclude) && (len(include) > 0 || len(exclude) > 0) {
		w.log.Info("filtering tasks by tags", "tags", include, "exclude_tags", exclude)
	}
}

// place tells the users the worker's place in the cluster and the
// master's options, before they start: the index and data slot from the
// ack and the number of shares, the master's expect_workers (1 if unset).
func (w *Worker) place(opts *protocol.Map) {
	if p, ok := w.users.(Placer); ok {
		count := int64(1)
		if opts != nil {
			if v, ok := opts.Get("expect_workers"); ok {
				if n, ok := v.(int64); ok && n > 0 {
					count = n
				}
			}
		}
		w.stateMu.Lock()
		index, slot := w.index, w.slot
		w.stateMu.Unlock()
		p.SetPlacement(int(index), int(slot), int(count))
	}
	if o, ok := w.users.(MasterOptions); ok {
		o.SetMasterOptions(opts)
	}
}

// stringList reads a list of strings from a parsed_options key (nil if
// the key is missing, None or not a list of strings).
func stringList(m *protocol.Map, key string) []string {
	if m == nil {
		return nil
	}
	v, _ := m.Get(key)
	items, ok := v.([]protocol.Value)
	if !ok {
		return nil
	}
	var out []string
	for _, it := range items {
		if s, ok := it.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}
