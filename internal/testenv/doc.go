// Package testenv provides what interop and end-to-end tests need: the pinned
// Locust and Python executables, an HTTP target that counts requests, child
// processes with captured output, a glocust binary built once per test run,
// a TCP proxy that injects network faults (Proxy),
// and for the web port's security a CA-signed server certificate for
// 127.0.0.1 (NewServerTLS), an htpasswd file (WriteHtpasswd) and a request
// helper (Send).
//
// Missing Locust is a test failure, never a skip: ./scripts/test installs the
// pinned version into <repo>/.venv, and GLOCUST_LOCUST / GLOCUST_PYTHON point
// elsewhere.
//
// Concurrency: Target is safe for concurrent requests and Counts calls, and
// a Proxy's methods for concurrent use (Close waits for its goroutines). A
// Process may be waited on, signalled and read from several goroutines.
// BuildGlocust builds once per test binary, whichever goroutine asks first.
// The functions and methods that take a testing.TB may fail the test, so
// they must be called from the test's goroutine.
package testenv
