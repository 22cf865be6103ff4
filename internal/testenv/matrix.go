package testenv

import (
	_ "embed"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed locust_versions.txt
var locustVersionsFile string

// MatrixVersions returns the Locust versions of the interop version matrix,
// oldest first: those listed in locust_versions.txt, then LocustVersion.
func MatrixVersions() []string {
	var vs []string
	for line := range strings.Lines(locustVersionsFile) {
		if v := strings.TrimSpace(line); v != "" && !strings.HasPrefix(v, "#") {
			vs = append(vs, v)
		}
	}
	return append(vs, LocustVersion)
}

// CacheDir is where scripts/locust-venvs keeps the matrix's virtualenvs:
// $GLOCUST_CACHE_DIR, else <user cache dir>/glocust
// (${XDG_CACHE_HOME:-$HOME/.cache}/glocust on Linux).
func CacheDir() (string, error) {
	if d := os.Getenv("GLOCUST_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "glocust"), nil
}

// LocustAt returns the locust and python executables of Locust version:
// Locust and Python for LocustVersion, else those of the virtualenv
// scripts/locust-venvs made for it in CacheDir. It fails the test when
// there is none.
func LocustAt(t testing.TB, version string) (locust, python string) {
	t.Helper()
	if version == LocustVersion {
		return Locust(t), Python(t)
	}
	dir, err := CacheDir()
	if err != nil {
		t.Fatalf("testenv: no cache directory for the Locust %s virtualenv: %v", version, err)
	}
	bin := filepath.Join(dir, "locust-"+version, "bin")
	locust, python = filepath.Join(bin, "locust"), filepath.Join(bin, "python")
	for _, p := range []string{locust, python} {
		if !executable(p) {
			t.Fatalf("testenv: no executable %s: run scripts/locust-venvs (./scripts/test does), "+
				"which installs every version of internal/testenv/locust_versions.txt", p)
		}
	}
	return locust, python
}
