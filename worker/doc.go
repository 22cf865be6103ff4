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
// users and registers again under a fresh node id: a master restarted on
// the same address gets the worker back for its next swarm (a glocust
// master takes it back earlier, from its heartbeats). The master-heartbeat
// timeout still ends the worker if no master is heard from for 60 s, and
// so does waiting 60 × 5 s for an ack, whether or not the master's port
// accepts connections: a worker never waits forever.
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
// Concurrency: a Worker is driven by one goroutine (Run). SendMessage,
// OnMessage registration before Run, the exception reporter and the health
// probes (Health, HealthHandler, ServeHealth) are safe to use from any
// goroutine.
package worker
