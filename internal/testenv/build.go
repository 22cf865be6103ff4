package testenv

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// built is one program built for the tests of this binary.
type built struct {
	once sync.Once
	path string
	out  string
	err  error
}

var builds struct {
	sync.Mutex
	m map[string]*built
}

// BuildGlocust builds ./cmd/glocust once per test binary (with -race when the
// tests run with -race) and returns the binary's path. The binary lives in a
// temporary directory shared by the tests of this binary. A failed build fails
// every test that asks for it.
func BuildGlocust(t testing.TB) string {
	t.Helper()
	return BuildPackage(t, "./cmd/glocust")
}

// BuildPackage builds the main package pkg, a path relative to the
// repository root ("./cmd/glocust", "./cmd/glocust/testdata/busyworker"),
// as BuildGlocust does ./cmd/glocust: once per test binary, with -race
// when the tests run with it.
func BuildPackage(t testing.TB, pkg string) string {
	t.Helper()
	builds.Lock()
	if builds.m == nil {
		builds.m = map[string]*built{}
	}
	b := builds.m[pkg]
	if b == nil {
		b = &built{}
		builds.m[pkg] = b
	}
	builds.Unlock()
	b.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			b.err = err
			return
		}
		dir, err := os.MkdirTemp("", "glocust-test-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, path.Base(pkg))
		args := []string{"build", "-o", b.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, pkg)
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		b.out, b.err = string(out), err
	})
	if b.err != nil {
		t.Fatalf("testenv: building %s failed: %v\n%s", pkg, b.err, b.out)
	}
	return b.path
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
