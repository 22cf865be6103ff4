package master

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Run identity: every test the master starts (a swarm from ready or
// stopped, a headless or autostart run, a shape's test, a test taken over
// from a previous master's workers) is a run with an id and a start time,
// which the console, the reports, /metrics and the OpenTelemetry
// resource carry. A swarm that edits a running test keeps its run: the
// stats go on. The profile (--profile, Locust's label grouping runs) is
// kept beside it; POST /swarm's profile field changes it, as in Locust.

// Run identifies a run.
type Run struct {
	// ID is unique per run: its UTC start time and 6 random hex digits,
	// "20260102-150405-a1b2c3" (NewRunID); "" before the first run.
	ID string
	// Start is when the run started (zero before the first run).
	Start time.Time
	// Profile is --profile (or the last POST /swarm's profile); "" when
	// none was given.
	Profile string
}

// NewRunID returns a run id for a run started at start: its UTC time to
// the second and 24 random bits, so ids sort by start and two masters
// starting in the same second still differ.
func NewRunID(start time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return start.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// newRun starts a run at now: a new id, logged with its profile.
func (c *core) newRun(now time.Time) {
	c.run.ID, c.run.Start = c.cfg.RunID(now), now
	msg := "Run " + c.run.ID + " started"
	if c.run.Profile != "" {
		msg += " (profile " + c.run.Profile + ")"
	}
	c.log.Info(msg)
}

// Run returns the current (or last) run's identity.
func (v *View) Run() Run { return v.c.run }

// SetProfile sets the profile of the runs from now on (POST /swarm's
// profile field; "" clears it), as Locust's web UI sets
// environment.profile.
func (m *Master) SetProfile(profile string) { m.Do(func(v *View) { v.c.run.Profile = profile }) }
