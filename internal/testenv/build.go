package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	path string
	out  string
	err  error
}

// BuildGlocust builds ./cmd/glocust once per test binary (with -race when the
// tests run with -race) and returns the binary's path. The binary lives in a
// temporary directory shared by the tests of this binary. A failed build fails
// every test that asks for it.
func BuildGlocust(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			build.err = err
			return
		}
		dir, err := os.MkdirTemp("", "glocust-test-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "glocust")
		args := []string{"build", "-o", build.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/glocust")
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		build.out, build.err = string(out), err
	})
	if build.err != nil {
		t.Fatalf("testenv: building ./cmd/glocust failed: %v\n%s", build.err, build.out)
	}
	return build.path
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
