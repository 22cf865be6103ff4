// Package worker runs glocust as a Locust worker: it registers with a
// master (a Python Locust master or a glocust master) over ZeroMQ, runs the
// users the master dispatches, and reports stats.
//
// The protocol behaviour mirrors Locust 2.47's WorkerRunner (docs/protocol.md
// sections 3 and 4.1): client_ready every 5 s until ack, heartbeat every
// second with state, CPU and RSS, stats every 3 s as deltas, spawn with
// absolute per-class targets and a timestamp watermark,
// stop → client_stopped → client_ready, quit → final stats → quit, the
// master-heartbeat timeout (60 s), reconnect, update_user_class and custom
// messages. Under an older Locust master the worker sends only the message
// types that master's version handles, taking the version it announces
// (WithLocustVersion) as the master's (dialect.go, docs/protocol.md
// section 7.1).
//
// Beyond Locust, a worker whose connection fails reconnects at once, and
// one that hears no master heartbeat for ReregisterAfter (15 s) stops its
// users and registers again (under a fresh node id, except with a glocust
// master): a master restarted on the same address gets the worker back for
// its next swarm (a glocust master takes it back earlier, from its
// heartbeats). The master-heartbeat timeout still ends the worker if no
// master is heard from for 60 s, and so does waiting 60 × 5 s for an ack,
// whether or not the master's port accepts connections: a worker never
// waits forever.
//
// Its heartbeats also carry its cgroup's CPU throttling and memory against
// the cgroup's limit (generator.go, docs/protocol.md section 9), which a
// Locust master ignores, and it warns once each when its CPU passes 90%
// (Locust's warning), when it is throttled and when it nears its memory
// limit, so a saturated load generator is not read as a slow target.
// Worker.Load returns the last of these samples (for --otel on a worker).
//
// # Delivery (docs/protocol.md section 9)
//
// No stats are dropped on the worker's side:
//
//   - A report that cannot be handed to a live connection (none, or a new
//     one the master has not answered on yet, or one whose predecessor's
//     reports are not settled) is kept in a stats.Carry and merged into
//     the next report: counts, buckets, per-second counts, errors. User
//     exceptions wait too (up to 1,000). Registering again keeps them: the
//     new identity's first report carries them.
//   - Every report carries a sequence number (glocust_seq) and is followed
//     by a heartbeat. A report is confirmed when a glocust master's reply
//     acknowledges its seq, or when a Locust master replies to a heartbeat
//     sent after it on the same connection (it handles a connection's
//     messages in order and answers every heartbeat of a known worker).
//   - When a connection fails, its unconfirmed reports wait for the next
//     connection's first heartbeat reply: a glocust master's ack says which
//     it counted, and the others are sent again, as they were, before
//     anything newer (it counts each seq once); a Locust master cannot be
//     sent a report again without the risk of counting it twice, so each
//     is logged as possibly lost with its request count.
//   - A Locust master that does not answer on a new connection within
//     DeafAfter (3 s) ignores it (its libzmq ROUTER still holds the
//     identity of a connection that died unnoticed): the worker registers
//     again under a new node id at once rather than after 15 s.
//   - On SIGTERM (Run's context cancelled) the worker stops its users,
//     connects again if needed, sends its final report, waits until the
//     master confirms it, sends quit and closes the connection so that
//     what was sent arrives (zmq.DialDealer), all within FinalWait (5 s).
//     The cancellation never reaches the connection itself.
//
// Before applying each spawn the worker tells its users (Placer,
// MasterOptions) its index, its data slot (a glocust master's glocust_slot,
// else the index) and the spawn's expect_workers, which split unique test
// data between workers, and the master's parsed_options, from which the
// scenario takes the values of its vars as Locust workers take custom
// arguments.
//
// Also beyond Locust, a worker can serve HTTP probes for Kubernetes
// (ServeHealth, HealthHandler): /healthz (liveness) and /readyz (200 once
// the master acknowledged it).
//
// Concurrency: a Worker is driven by one goroutine (Run), which owns the
// connection, the carry and the delivery state; the dial and receive
// goroutines it starts only report to it over channels, and their
// context is Run's own (cancelled when Run returns), not Run's argument.
// SendMessage, OnMessage registration before Run, the exception reporter
// and the health probes (Health, HealthHandler, ServeHealth) are safe to
// use from any goroutine.
package worker
