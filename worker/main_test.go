package worker

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine of the worker behind:
// Run's loop, its senders, the users' stop helpers and the timers all end
// when Run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
