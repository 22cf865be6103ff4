// Package stats implements Locust-exact request statistics: lock-free
// recording and delta reports on the worker side, merging and derived
// values (percentiles, current RPS, ...) on the master side. The reports
// are Locust's own: the stats, stats_total and errors of a worker's "stats"
// message (protocol.Stats; docs/protocol.md section 5), and locust/stats.py (2.47) is the reference for
// every rounding and edge case.
//
// # Worker side
//
// A Registry holds one Entry per (method, name), up to a cap on distinct
// names (WithMaxNames, DefaultMaxNames): further names are counted in an
// overflow entry per method, further error texts under OtherErrors, with
// one warning each (namecap.go). Get an entry once with
// Registry.Entry and keep it; Entry.Record, Entry.RecordFailure and
// Entry.RecordUntimed then take no lock and do not allocate (a failure
// allocates only the first time its error text is seen on that entry).
// Entry.Observe, ObserveFailure and ObserveUntimed do the same without a
// caller timestamp: the registry's coarse clock (one atomic word refreshed
// every CoarseClockTick by one goroutine, started on first use, stopped by
// Registry.Close) stamps the record, so the record path reads no clock.
// Registry.Report returns everything recorded since the previous Report or
// Reset as Locust's wire entries, total and errors, and starts a new
// interval, like Locust's get_stripped_report. A Carry sums reports that
// could not be delivered so that the next report delivers them (Locust's
// StatsEntry.extend on the wire form); a master that merges the sum ends
// as if it had merged each report.
//
// Each entry keeps, per shard (one per P, allocated by the first record
// on that P), a hot/cold pair of counter
// buffers selected by one atomic word, as prometheus' histogram does: a
// record increments the word (bit 63 is the hot index, the rest counts
// records started), updates the hot buffer, and increments that buffer's
// count last. Report flips the index, waits (runtime.Gosched) until the
// cold buffer's count equals the records started on it, then reads and
// zeroes it: intervals are deltas, never cumulative. A record holds its
// shard alone from the word to the count, pinned to its P (runtime.procPin)
// or, built with the tag glocust_nolinkname, by the shard's mutex (see
// shard.go), so a shard has one writer at a time and the buffer itself is
// plain memory: two atomic operations per record (four with the tag).
// Records that find no shard to hold, and records that must block, use
// mutex-guarded spill shards (see Entry). Response
// times are counted in one counter per Locust bucket key up to
// MaxBucketedResponseTime; per-second counts use a small ring of
// (second, count) slots. Rare values (negative or huge response times, a
// second whose ring slot is taken) go to small maps in the buffer;
// nothing is lost.
//
// # Master side
//
// An Aggregate merges worker reports (Merge) as Locust's master does and
// exposes sorted Summaries with Locust's derived values. It caps names and
// error texts as a Registry does (AggregateMaxNames), folding a report's
// further names into the same overflow entries, so that a worker that
// does not cap (a Python worker) cannot exhaust the master's memory. A Summary's
// bucket dicts are Counts: the response-time keys Locust's rounding
// produces below 10 s have a slot in a dense array (indexed like the
// recording side's counters) and the latest 64 seconds of per-second keys
// a slot in a ring, so a merge hashes nothing in the usual case; any other
// key lives in a map. Counts keep Python dict semantics (a key merged with
// a zero count is present) and list their keys in ascending order.
//
// # Concurrency
//
// Registry and Entry: all methods are safe for concurrent use. Report and
// Reset serialise with each other and may run while records happen; a
// record that overlaps a Report lands in exactly one report.
//
// Aggregate and Summary are not safe for concurrent use: one goroutine
// (the master's stats loop) owns them, and a Summary changes on the next
// Merge or Reset of its Aggregate. Neither is a Carry (the worker's loop
// owns it).
package stats
