package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the tests leave no goroutine behind (HTTP clients,
// targets, receivers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
