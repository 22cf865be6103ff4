package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/protocol"
)

// seededBodies loads a scenario with seed: 1 through the command line
// (args after -f), runs one user of its class on a worker's runner
// against a local target until it sent 5 requests, and returns their
// bodies.
func seededBodies(t *testing.T, args ...string) []string {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer target.Close()
	file := filepath.Join(t.TempDir(), "s.yaml")
	src := "seed: 1\nusers:\n  - class: A\n    tasks:\n      - request: {method: POST, path: /, body: \"${uuid()} ${email()}\"}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := config.Parse(append([]string{"--worker", "-f", file}, args...), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := loadClasses(opts, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	setup := workerSetup{opts: opts, classes: l.classes, host: target.URL, log: slog.New(slog.DiscardHandler)}
	runner, _ := setup.newWorker("127.0.0.1", 1)
	runner.Apply([]protocol.ClassCount{{Class: "A", Count: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = waitFor(ctx, func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) >= 5 })
	runner.Close()
	if err != nil {
		t.Fatalf("%v: %d requests, want 5", err, len(bodies))
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(bodies[:5])
}

// TestSeedOption checks that --seed (and GLOCUST_SEED, parsed alike)
// reaches the users: a run repeats with it, and it wins over the
// scenario's seed, which applies without it.
func TestSeedOption(t *testing.T) {
	t.Parallel()
	yaml1, yaml1again := seededBodies(t), seededBodies(t)
	cli7, cli7again := seededBodies(t, "--seed", "7"), seededBodies(t, "--seed", "7")
	cli1 := seededBodies(t, "--seed", "1")
	if !slices.Equal(yaml1, yaml1again) || !slices.Equal(cli7, cli7again) {
		t.Errorf("a seeded run does not repeat:\n%q\n%q\n%q\n%q", yaml1, yaml1again, cli7, cli7again)
	}
	if !slices.Equal(yaml1, cli1) || slices.Equal(yaml1, cli7) {
		t.Errorf("--seed 7 over seed: 1 sends the bodies of seed 1, or --seed 1 does not:\n%q\n%q\n%q", yaml1, cli7, cli1)
	}
}
