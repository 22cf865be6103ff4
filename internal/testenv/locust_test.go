package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPinnedLocust checks that Locust and Python resolve to the pinned Locust.
func TestPinnedLocust(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(Locust(t), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("locust --version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "locust "+LocustVersion+" ") {
		t.Fatalf("locust --version = %q, want locust %s (run ./scripts/test to install it)", out, LocustVersion)
	}
	out, err = exec.Command(Python(t), "-c", "import locust; print(locust.__version__)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != LocustVersion {
		t.Fatalf("python: locust %q, %v; want %s", out, err, LocustVersion)
	}
}
