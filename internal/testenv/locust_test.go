package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPinnedLocust checks that Locust and Python resolve to the pinned
// Locust, and LocustAt to each version of the matrix.
func TestPinnedLocust(t *testing.T) {
	t.Parallel()
	vs := MatrixVersions()
	if len(vs) < 4 || vs[len(vs)-1] != LocustVersion {
		t.Fatalf("matrix versions %v: want at least 4, the pinned %s last", vs, LocustVersion)
	}
	for _, v := range vs {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			locust, python := LocustAt(t, v)
			if v == LocustVersion && (locust != Locust(t) || python != Python(t)) {
				t.Fatalf("LocustAt(%s) = %s, %s; want the pinned %s, %s", v, locust, python, Locust(t), Python(t))
			}
			out, err := exec.Command(locust, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s --version: %v\n%s", locust, err, out)
			}
			if !strings.HasPrefix(string(out), "locust "+v+" ") {
				t.Fatalf("%s --version = %q, want locust %s (run ./scripts/test to install it)", locust, out, v)
			}
			out, err = exec.Command(python, "-c", "import locust; print(locust.__version__)").Output()
			if err != nil || strings.TrimSpace(string(out)) != v {
				t.Fatalf("%s: locust %q, %v; want %s", python, out, err, v)
			}
		})
	}
}
