// Package scenario defines what glocust's simulated users do and runs them.
//
// A user class (Class) mirrors a Locust User class: a name that must equal
// the class name in the Python locustfile the master runs, a weight and
// fixed count, a wait_time (Between, Constant, ConstantPacing,
// ConstantThroughput with Locust's semantics), on_start/on_stop and weighted
// tasks. Classes come from a YAML scenario file (Load, Parse) or from Go code
// (Register, for binaries built on the Go API); both produce the same Class.
//
// A Runner keeps per-class user counts at the absolute targets the master
// sends (Apply, from Locust's "spawn" message; the master paces the ramp),
// stops users with Locust's stop_timeout semantics (StopAll, and Apply with
// SetStopTimeout), and applies update_user_class (UpdateClass). Every
// request is recorded through the Stats interface; failed requests are data
// in stats, task errors and panics are user exceptions (the exception
// handler, Locust's "exception" message), and the user goes on as in Locust.
//
// HTTP goes through HTTPClient, over connections each user owns (one
// keep-alive connection per host, like a Locust user's requests.Session).
// Requests are rendered once per request definition and host and sent in
// one write; responses are read by the client's own HTTP/1.1 framing parser
// (wire.go: status line, Content-Length, chunked, read-until-close, 1xx,
// keep-alive), and the rest of a header is parsed by fasthttp only when
// asked for (Response.Header, Response.Raw, cookies, redirects). On Linux
// the socket reads and writes are raw non-blocking syscalls through the
// runtime poller (rawio_linux.go). The clock is read twice per request, no
// timer or context is created per request, and the steady-state hot path
// borrows pooled buffers and does not allocate.
//
// A class's HTTPConfig (the YAML "http" block, httpconfig.go, yaml_http.go)
// sets TLS (verification on by default, as Locust's HttpUser; a CA bundle,
// a client certificate, the server name, the minimum version, per-user
// session resumption), proxies (Python requests' rules, proxy.go: absolute
// form for http://, a CONNECT tunnel for https://; the environment's
// variables only with TrustEnv, which Locust's HttpUser turns off), and
// Connection: close. The runner compiles it once per class (profile.go).
// glocust resolves host names itself (Resolver, WithResolver): each name's
// users are spread over its addresses and follow it when it is resolved
// again (resolve.go); dial.go connects (the proxy and its tunnel, the TLS
// handshake, also over raw syscalls). Failures are readable texts
// (errtext.go, tlserr.go); a connect that fails because the generator
// itself ran out of local ports, file descriptors or CPU is recorded with
// the prefix protocol.GeneratorErrorPrefix, which the master counts apart,
// and warned about once per kind (genfault.go).
//
// # Concurrency
//
// Runner's methods are safe for concurrent use. Each user runs on its own
// goroutine, owned by the runner: it is started by Apply and ends when the
// user is stopped (Apply, StopAll) or the runner is closed; Close cancels
// every user and waits for all goroutines, including the timers that bound
// graceful stops and the background re-resolutions of host names (started
// by users, at most one per name at a time). A UserContext and its HTTPClient belong to their user's
// goroutine and must not be used from others. Class values are copied by
// NewRunner; a Request must not be modified after its first use, and may
// then be shared by all users. Stats implementations and the exception
// handler are called concurrently from user goroutines. Register and
// Registered are safe for concurrent use.
//
// Stopping follows Locust: a waiting user stops at once; with a stop timeout
// a running user finishes its current task, without one (or when it runs
// out) its context is cancelled and its connections closed, interrupting a
// request in flight, which is then not recorded. on_stop runs for every
// stopped user whose on_start did not fail, under a context only Close
// cancels.
package scenario
