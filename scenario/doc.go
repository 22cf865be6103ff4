// Package scenario defines what glocust's simulated users do and runs them.
//
// A user class (Class) mirrors a Locust User class: a name that must equal
// the class name in the Python locustfile the master runs, a weight and
// fixed count, a wait_time (Between, Constant, ConstantPacing,
// ConstantThroughput with Locust's semantics), on_start/on_stop and weighted
// tasks. Classes come from a YAML scenario file (Load, Parse) or from Go code
// (Register, for binaries built on the Go API); both produce the same Class.
// A file's errors are *ParseError (file, line, column, key path): Parse
// returns the first, ParseAll (LoadAll) every one as ParseErrors, the parser
// going on after an error with the next key, class, task and step.
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
// keep-alive; it notes a Content-Encoding), and the rest of a header is
// parsed by fasthttp only when asked for (Response.Header, Response.Raw,
// cookies, redirects). On Linux
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
// Connection: close, and compression: requests ask for it as Locust's
// clients do (DefaultAcceptEncoding), and a body coded gzip, deflate, br or
// zstd is decoded (decode.go, pooled decoders, off the hot path) before
// checks and extraction read it and, unless ReceivedContentSize, to record
// the decoded length as Locust does. The runner compiles it once per class
// (profile.go).
// glocust resolves host names itself (Resolver, WithResolver): each name's
// users are spread over its addresses and follow it when it is resolved
// again (resolve.go); dial.go connects (the proxy and its tunnel, the TLS
// handshake, also over raw syscalls). Failures are readable texts
// (errtext.go, tlserr.go); a connect that fails because the generator
// itself ran out of local ports, file descriptors or CPU is recorded with
// the prefix protocol.GeneratorErrorPrefix, which the master counts apart,
// and warned about once per kind (genfault.go).
//
// A YAML request's body may come from files (yaml_body.go): body_file
// sends a file as it is, files a multipart/form-data body with the form
// fields (multipart.go, as Python requests renders files=). Files are
// read once when the scenario loads and sent from memory; a body larger
// than 64 KiB is written after the rendered head from where it is, never
// copied per request. auth sends Basic authentication as requests does
// (auth.go). A request's timeout is the whole request's, or requests'
// (connect, read) pair: Request.ConnectTimeout bounds connecting and
// sending, Request.ReadTimeout each read of the response (wire.go moves
// the read deadline before each).
//
// A request's checks (Request.ExpectStatus, ExpectBodyContains,
// ExpectJSON, ExpectHeader, ExpectMaxTime, Check; in YAML expect_status,
// expect_body_contains, expect_json, expect_header, expect_max_ms) run in
// that order after the response was read and decoded; the first that
// fails makes the request a failure with its message, recorded once with
// the real response time, as Locust's catch_response with
// response.failure(). checks.go runs the JSON, header and time checks,
// compiled with the request's rendering (a request without them pays
// nothing); yaml_checks.go parses them.
//
// # Variables, templates, extraction and test data
//
// A user has variables (vars.go): the class's Vars (defaults, which the
// command line's --var and the master's parsed_options override, as
// Locust's custom arguments), the columns of its data row, and values it
// extracted from responses or set with SetVar. A name resolves in that
// order of precedence: extracted (or SetVar) > data row > vars (the
// class's over the scenario's top level; a value given on the command line
// or by the master replaces the declared default). Values last for the
// user's life, across tasks.
//
// In a YAML request, "${...}" in the path, query, headers, body, json and
// form values, auth's user and password, name, expect_body_contains and
// the values of expect_json and expect_header is a template (template.go
// has the grammar): a variable, ${row.column}, ${user.id},
// ${user.iteration}, ${worker.index}, ${worker.count}, ${env.NAME} (read
// when the scenario loads) or a built-in call: uuid(),
// randint(lo, hi), choice(a, b, ...), wchoice(a, 3, b, 1) (weighted),
// time(), time_ms(), and fake test data (fake.go): first_name(),
// last_name(), name(), email(), word(), words(n), sentence(),
// float(lo, hi, decimals), date(from, to), date_time(from, to), phone(),
// bool(), hex(n), alnum(n), from the package's own word lists. A
// variable, row column or environment variable may have a default,
// ${name:-text}: literal text used when the value is unset or empty. A
// name that no vars, extract or data column of the class declares (and
// that has no default) is an error when the scenario loads, as are an
// unknown function and bad arguments; one that has no value yet when a
// request runs (a token not extracted yet) fails that request with a
// message naming it, and nothing is sent.
//
// Every random value a user draws (the calls above, its task picks and
// waits) comes from its own source, UserContext.Rand. A seed (the
// scenario's top-level seed, or WithSeed: the command line's --seed)
// makes the source of the n-th user of a class on a worker a function of
// (seed, class, worker index, n) (seed.go), so that a run can be
// repeated; without one it is seeded at random. A JSON body's expressions
// are evaluated in key order, so the same key gets the same draw.
// Templates are compiled once (tmplreq.go): the request is rendered for
// its host with markers where values go and cut into segments; per request
// each expression is evaluated once and the segments are written with the
// values, escaped for where they go (URL, form, JSON string, header), into
// the pooled send buffer, so a templated request allocates nothing. A
// request without "${" is the same Request as before, rendered once.
//
// A request's extract (extract.go) sets variables from its response when
// the response passed the request's checks: a JSON path (jsonpath.go: a
// documented subset with [*] and a pick of first, last or random), a
// regex group, a header, a cookie the response sets, or the status. A
// value not found fails the request, naming the variable and the path, and
// sets none of the request's variables.
//
// A class's Data (a DataSet: a CSV file with a header row, JSON lines, or
// NewDataSet) gives each user a row for its life (data.go, datapool.go):
// DataUnique gives a row to at most one live user in the whole cluster,
// DataCycle goes round the rows, DataRandom picks any. Unique rows are split
// between workers by Placement (Runner.SetPlacement, which the worker
// calls before each spawn): Count shares (the master's expect_workers), row
// r in share r mod Count, and each worker takes the share of its Slot. A
// glocust master gives each live worker the lowest free slot and gives a
// departed worker's slot to the next one (so its rows go to its
// replacement); under a Locust master the slot is the worker index, which
// is never reused, so a replacement has no share. A worker leases rows of
// its share to its users and takes them back when they stop; a user that
// finds no free row does not start, and the reason is reported as a user
// exception, unless the rows are held by users being stopped (a rebalance
// that stops one class's users and starts another's on the same data):
// then it starts as soon as a stopping user gives its row back, as it does
// in either case when a row comes back while its class is below target.
// The master needs no data file: each worker reads its own.
//
// From Go, a Class has Vars and Data too, and a task reads and sets the
// user's variables with UserContext.Var and SetVar, its row with
// UserContext.Row, its place with Placement and its task count with
// Iteration.
//
// # Steps
//
// A YAML task's steps (yaml_steps.go) run in order: a request, a think
// (a pause on a real timer, ended at once when the task's context is
// cancelled; a graceful stop lets the task finish, pauses included, as in
// Locust), or a repeat of nested steps (a count or a template whose value
// must be a whole number when it runs, else the task ends with a
// *StepError reported as a user exception; "as" names a variable holding
// the 0-based index). Any step may have an if or unless condition
// (cond.go: a small grammar over templates, numbers and quoted text,
// compiled once; a condition that needs a variable without a value is
// false). A request's fail_if runs after its checks and extractions and
// fails it with a *CheckError whose text is a rendered message, as a
// failed check does. ${response.status} and UserContext.LastStatus give
// the status of the user's last response (0 before any, or when the last
// request got none). A class's refresh re-runs its on_start (or other
// steps) in its tasks every so often and/or after a response with one of
// given statuses, then sends that request once more if asked; the first
// response is recorded as it was. A task that is one request, in a class
// without refresh, is that request's Do: steps cost nothing to classes
// that do not use them, and conditions, repeats and their indexes
// allocate nothing per run.
//
// # Flows: sequential classes and task groups
//
// A class's tasks are picked at random in proportion to their weights, or,
// with Class.Sequential, run in their order over and over, a task of
// weight N N times in a row (Locust's SequentialTaskSet with @task(N)). A
// Task whose Group is set instead of Fn is a task group (TaskGroup,
// groups.go: Locust's TaskSet, or SequentialTaskSet with Sequential): when
// picked, the user runs its OnStart and then keeps picking among its tasks,
// with its WaitTime (else the class's) after each, until a task returns
// ErrInterrupt (the task function Interrupt, YAML's interrupt: true) or
// Iterations tasks (rounds, when sequential) ran; then its OnStop runs
// and the parent picks its next task at once, as after Locust's
// interrupt(reschedule=True). Groups nest up to MaxGroupDepth levels. A
// user stopped inside groups runs the OnStop of each, innermost first,
// then the class's OnStop; the group loop checks the same stop signals as
// the class's. A group's Tags apply to every task in it (FilterTags keeps a
// group with its tasks that pass, and drops it when none does);
// update_user_class's task names are those of the class's own tasks. A
// task without a group pays one nil check; a sequential class keeps its
// position on the user's goroutine's stack. In YAML (yaml_groups.go) an
// item of tasks with a tasks key is a group (name required, as a TaskSet's
// class name), and {interrupt: true} an interrupt task, only in a group.
//
// # Tracing and bounded runs
//
// WithTracer gives a runner a Tracer (trace.go): functions called, on the
// user's goroutine, when a user starts (with its variables' values and
// where each came from), before each task, after each HTTPClient.Do (a
// RequestTrace: the bytes sent per hop, redirects included, the final
// response's head and its body decoded, the time, the checks made, the
// failure, the variables the request set) and when SetVar sets a variable
// outside of a request. "glocust debug" prints them. A runner without a
// tracer pays nil checks of the runner's tracer field and nothing else:
// in Do and the send (per request), a redirect followed, an extract, SetVar
// and per task; the request bytes are copied only when tracing. WithIterations bounds each
// user to n tasks (on_start, n tasks without the wait after the last, then
// on_stop; a user stopping so leaves its class's count) and Runner.Wait
// waits until no user runs. A Tracer's functions are called concurrently
// by the runner's users; what they get is valid during the call only.
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
// A DataSet is read-only and shared by the runners and classes that use
// it; a runner leases its rows under a lock per data set (cold path: user
// start and stop). A user's variables belong to its goroutine.
//
// Stopping follows Locust: a waiting user stops at once; with a stop timeout
// a running user finishes its current task, without one (or when it runs
// out) its context is cancelled and its connections closed, interrupting a
// request in flight, which is then not recorded. on_stop runs for every
// stopped user whose on_start did not fail, under a context only Close
// cancels.
package scenario
