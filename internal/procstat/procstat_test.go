package procstat

import (
	"runtime"
	"testing"
	"time"
)

func TestSampler(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	if RSS() <= 0 {
		t.Fatal("RSS not positive")
	}
	s := New()
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) { // busy: CPU must show up
		x++
	}
	_ = x
	if got := s.CPUPercent(); got <= 10 || got > 250 {
		t.Fatalf("CPU after a 300 ms busy loop = %.1f%%, want between 10 and 250", got)
	}
}
