package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// LocustVersion is the Locust version ./scripts/test installs.
const LocustVersion = "2.47.0"

// RepoRoot returns the directory holding go.mod, found by walking up from the
// working directory (a package directory under go test).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := repoRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Locust returns the path of the pinned locust executable: $GLOCUST_LOCUST, else
// <repo>/.venv/bin/locust. It fails the test when there is none.
func Locust(t testing.TB) string {
	t.Helper()
	return venvTool(t, "GLOCUST_LOCUST", "locust")
}

// Python returns the path of the Python that has the pinned Locust installed:
// $GLOCUST_PYTHON, else <repo>/.venv/bin/python. It fails the test when there
// is none.
func Python(t testing.TB) string {
	t.Helper()
	return venvTool(t, "GLOCUST_PYTHON", "python")
}

func venvTool(t testing.TB, envVar, name string) string {
	t.Helper()
	path := os.Getenv(envVar)
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("testenv: %s is not set and the repository root is unknown: %v; run ./scripts/test", envVar, err)
		}
		path = filepath.Join(root, ".venv", "bin", name)
	}
	if !executable(path) {
		t.Fatalf("testenv: no %s executable at %s (set %s, or run ./scripts/test, which installs locust==%s into <repo>/.venv)",
			name, path, envVar, LocustVersion)
	}
	return path
}

// executable reports whether path is a file with an execute bit.
func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
