// Package interop holds the end-to-end tests that run glocust against real
// Locust processes (the pinned version in .venv) on 127.0.0.1: glocust
// workers under a Python master, mixed swarms, stop/swarm cycles and master
// restarts. The tests fail, never skip, when Locust is missing.
package interop
