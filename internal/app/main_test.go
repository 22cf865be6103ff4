package app

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that a finished run (standalone, master, worker) leaves
// no goroutine behind: web servers, printers, the in-process worker and
// the transports all stop with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
