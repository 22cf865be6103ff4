// Package master is glocust's Locust-compatible master: it binds a ROUTER,
// registers workers (Python Locust or glocust), dispatches users to them
// with Dispatcher (Locust's UsersDispatcher), merges their stats and
// exceptions, and serves Locust's HTTP API plus /metrics and /healthz.
//
// Behaviour mirrors Locust 2.47's MasterRunner (docs/protocol.md sections
// 3, 4 and 6): ack indexes stable per node id, heartbeat replies,
// liveness counter 3 decremented every second (missing below 0, deleted at
// -60, self-heal on the next heartbeat), client_ready "" and -1 accepted,
// spawn messages with absolute counts and strictly increasing timestamps,
// re-dispatch on join and leave, spawning_complete after a ramp-up. Each
// worker is sent only the message types its Locust version (announced in
// its client_ready) handles, so older Locust workers log no unknown type
// (dialect.go, docs/protocol.md section 7.1).
//
// Beyond Locust:
//   - workers that heartbeat and report stats without client_ready (they
//     ran under a previous master) are taken back instead of orphaned, and
//     a master with no test of its own takes over theirs: state running,
//     target the sum of their users, nothing sent to them; Stop stops them,
//     Start edits the test from the users they run (Dispatcher.Resume), and
//     joins and leaves re-dispatch as in a test the master started;
//   - with RebalanceAtSpawnRate a rebalance moves users at the spawn rate
//     (Locust #2332) instead of all at once;
//   - Config.Shape runs a load shape (package shape) as Locust's
//     start_shape and shape_worker do: StartShape, a tick a second taken
//     from the loop when no ramp is under way, the end quitting a headless
//     master (Config.Headless) or stopping the test, ShapeEnded; its state
//     is served on /shape (glocust's endpoint: /stats/requests stays
//     Locust's) and /metrics, and its changes mark the report's users chart;
//   - Config.Thresholds (package threshold) are judged on the merged stats:
//     View.Thresholds, /thresholds, /metrics and the report; those with
//     AbortOnFail are judged on the heartbeat tick after their grace and
//     stop the test when they fail (a headless master quits),
//     ThresholdAborted;
//   - a glocust worker's stats report (it carries glocust_seq) is counted
//     once per node id and seq, and heartbeat replies to glocust workers
//     acknowledge the last counted seq (docs/protocol.md section 9);
//     Locust workers see Locust's protocol unchanged;
//   - frames whose envelope node_id differs from the ZeroMQ identity, and
//     stats or exceptions from nodes that are neither registered nor being
//     taken back, are dropped and logged (rate-limited), so a rogue peer
//     cannot touch the numbers of real workers;
//   - each live worker gets a data slot in its ack (glocust_slot, which
//     Locust's workers ignore): the lowest no other live worker holds, so
//     a worker that replaces a departed one takes over its share of unique
//     test data (slots.go, docs/protocol.md section 4.2);
//   - /metrics counts apart the failures a glocust worker's generator
//     caused (error texts starting with protocol.GeneratorErrorPrefix:
//     glocust_generator_failures_total), beside the failures per request,
//     and has a latency histogram per name and method, folded from the
//     merged stats when it is scraped (metrics.go); Master.Snapshot gives
//     the same figures to another exporter (snapshot.go: --otel's);
//   - every test it starts is a run with an id and a start time (run.go:
//     View.Run, NewRunID), beside Locust's profile (Config.Profile, POST
//     /swarm's profile); /metrics and /healthz carry it;
//   - generator health (health.go, docs/protocol.md section 9): each
//     worker's last CPU, memory and cgroup figures (a glocust worker's
//     throttling and memory against its limit) on /worker-health and
//     /metrics; a warning once per worker above 90% CPU (Locust's), when
//     throttled and near its memory limit; View.Overloads, the workers
//     overloaded in the current test, for the final summary;
//   - Config.Params are the scenario's custom parameters (its vars): a
//     POST /swarm form key naming one sets it, as a string, in the parsed
//     options of this and later spawns (Master.SetParams: on the loop, on
//     a copy of the map, so a message already built never changes), and
//     the dashboard's start form shows them (View.Params), as Locust does
//     for custom arguments (params.go);
//   - Web serves a live dashboard at the base path (master/webui's page,
//     dashboard.go): Locust's UI and more, its updates pushed over
//     Server-Sent Events from one sample of the state per interval, with
//     chart histories of bounded size, each request name's own history,
//     worker health and the past runs with their reports.
//
// # Concurrency
//
// One goroutine (Run) owns all state: the worker registry, the dispatcher,
// the stats Aggregate and the run state. Other goroutines reach it through
// Do, which runs a function on that goroutine (or inline once Run ended),
// and through the methods built on it (Start, Stop, Quit, ResetStats...).
// The dashboard's sampler (a goroutine of Web, ended by Web.Close) calls Do
// once per update interval and keeps its own state under its own mutex.
// A reader goroutine feeds received frames to the loop and a sender
// goroutine writes outgoing frames, so a slow transport never blocks state
// handling. With a transport whose Send never waits for a peer (the native
// ROUTER: SendNeverBlocks), the loop sends itself, without the hop, and
// calls the transport's Flush whenever its inbox is empty, so the replies
// to a batch of received frames leave together. The
// loop decodes with one reused protocol.Decoder and hands the payloads of
// handled stats and heartbeats back to a transport that can reuse them
// (ReleasePayload). All exported methods are safe for concurrent use.
package master
