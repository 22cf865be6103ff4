// Package webguard protects the master's HTTP port, which can start load
// tests: a login (Login) and the refusal of state-changing requests that a
// page of another site makes a browser send (CrossOrigin). internal/app puts
// both in front of master.Web and serves the result over TLS when
// --tls-cert and --tls-key are given.
//
// Login mirrors what Locust 2.47's --web-login does in a browser (pages
// redirect to {base}/login, which posts a user name and password and sets a
// session cookie), with the users of an htpasswd file of bcrypt hashes
// (Users) instead of Locust's Python auth hook, and adds HTTP basic auth for
// scripts, which get 401 where Locust's flask-login would redirect them.
// The probes (/healthz, /readyz) stay open, and /metrics unless asked.
// Sessions are HMAC-signed cookies (HttpOnly, SameSite=Strict, Secure over
// TLS) under a key drawn at random when the guard is made, so a restart
// logs everyone out. Failed logins are limited per client address (a
// bounded table), and bcrypt runs at most a few at a time, so guessing
// cannot take the master's CPU.
//
// CrossOrigin uses net/http.CrossOriginProtection: a browser's non-GET
// request from another origin is refused with 403 (so is a GET to the
// endpoints that change state on GET, such as Locust's /stop), while
// requests without Origin and Sec-Fetch-Site headers, which is what curl and
// CI scripts send, pass as they do with Locust.
//
// # Concurrency
//
// Users is immutable once parsed. The handlers returned by Login and
// CrossOrigin are safe for concurrent use: Login's session key is fixed when
// it is made, its rate limiter and its cache of credentials that passed have
// a mutex each, and a channel bounds the bcrypt checks running at once.
// Nothing here starts a goroutine.
package webguard
