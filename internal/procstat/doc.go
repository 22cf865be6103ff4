// Package procstat samples what a load generator needs to know about its
// own health: the current process's CPU usage and resident memory, as
// Locust's workers report them in heartbeats (psutil's cpu_percent and
// memory_info().rss), and its cgroup's CPU throttling and memory against
// the cgroup's limit (cgroup v1 or v2), which a glocust worker adds to its
// heartbeats (docs/protocol.md section 9). On systems without /proc the
// process figures are 0 and OpenCgroup reports ErrNoCgroup.
//
// # Concurrency
//
// A Sampler is safe for concurrent use. A Cgroup is immutable after
// OpenCgroup; Read may be called from several goroutines.
package procstat
