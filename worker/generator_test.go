package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// cgroupTree is a Kubernetes container's cgroup v2 view (see
// internal/procstat's tests) that a test rewrites between heartbeats.
type cgroupTree struct{ root string }

func newCgroupTree(t *testing.T) *cgroupTree {
	t.Helper()
	c := &cgroupTree{root: t.TempDir()}
	for name, content := range map[string]string{
		"proc/self/mountinfo":   "1436 1432 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate\n",
		"proc/self/cgroup":      "0::/\n",
		"sys/fs/cgroup/cpu.max": "50000 100000\n", "sys/fs/cgroup/memory.max": "536870912\n",
	} {
		if err := c.write(name, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.set(1000, 0, 0, 100<<20); err != nil {
		t.Fatal(err)
	}
	return c
}

// write replaces a file at once (a rename), as the kernel's files never
// read half-written.
func (c *cgroupTree) write(name, content string) error {
	p := filepath.Join(c.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// set writes the memory in use and the CPU counters (last: the test
// waits on them).
func (c *cgroupTree) set(periods, throttled int, throttledUsec, memory int64) error {
	if err := c.write("sys/fs/cgroup/memory.current", fmt.Sprintf("%d\n", memory+4096)); err != nil {
		return err
	}
	if err := c.write("sys/fs/cgroup/memory.stat", "anon 1\ninactive_file 4096\n"); err != nil {
		return err
	}
	return c.write("sys/fs/cgroup/cpu.stat", fmt.Sprintf("usage_usec 1\nnr_periods %d\nnr_throttled %d\nthrottled_usec %d\n",
		periods, throttled, throttledUsec))
}

// TestHeartbeatHealth: a worker in a cgroup sends its throttling over the
// last interval and its memory against the limit in every heartbeat
// (docs/protocol.md section 9), and logs once that it is throttled and
// once that it is near its memory limit.
func TestHeartbeatHealth(t *testing.T) {
	t.Parallel()
	cg := newCgroupTree(t)
	h, logs := logged(t, WithCgroupRoot(cg.root))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	hb := h.expect("heartbeat").(*protocol.Heartbeat)
	want := protocol.WorkerHealth{CPUThrottledSeconds: 0, MemoryWorkingSet: 100 << 20, MemoryLimit: 512 << 20}
	if !hb.HasHealth || hb.Health != want {
		t.Fatalf("first heartbeat: health %+v (%v), want %+v", hb.Health, hb.HasHealth, want)
	}
	if strings.Contains(logs.String(), "throttled") || strings.Contains(logs.String(), "limit (") {
		t.Fatalf("a healthy worker warned:\n%s", logs)
	}
	// 10 more periods, 5 of them throttled for 40 ms each; memory at 95 %.
	if err := cg.set(1010, 5, 200_000, 510_027_366); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hb = h.expect("heartbeat").(*protocol.Heartbeat)
		if hb.Health.CPUThrottled != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat saw the throttling")
		}
	}
	want = protocol.WorkerHealth{CPUThrottled: 0.5, CPUThrottledSeconds: 0.2, MemoryWorkingSet: 510_027_366, MemoryLimit: 512 << 20}
	if hb.Health != want {
		t.Fatalf("health %+v, want %+v", hb.Health, want)
	}
	if hb = h.expect("heartbeat").(*protocol.Heartbeat); hb.Health.CPUThrottled != 0 || hb.Health.CPUThrottledSeconds != 0.2 {
		t.Fatalf("next interval: %+v, want no new throttling and the same total", hb.Health)
	}
	h.expect("heartbeat")
	out := logs.String()
	for _, w := range []string{"CPU-throttled by the cgroup's limit (0.5 cores) in 50% of the last second", "Memory at 95% of the cgroup's limit"} {
		if strings.Count(out, w) != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", w, strings.Count(out, w), out)
		}
	}
}
