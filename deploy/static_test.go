package deploy

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildImageBinary builds glocust as deploy/Dockerfile does.
func buildImageBinary(t *testing.T) string {
	t.Helper()
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Keep this test honest: the Dockerfile must build what is tested here.
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X github.com/glocust/glocust/internal/config.Version=`, "./cmd/glocust", "USER 65532:65532", "distroless/static"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Fatalf("Dockerfile lacks %q", want)
		}
	}
	bin := filepath.Join(t.TempDir(), "glocust")
	cmd := exec.Command(goTool(), "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/glocust/glocust/internal/config.Version=v9.8.7-test",
		"-o", bin, "./cmd/glocust")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestImageBinary: the image's binary is static and starts with nothing but
// its scenario: no environment, no HOME, no config files, an empty working
// directory (distroless/static has no shell, libc or CA bundle to lean on).
func TestImageBinary(t *testing.T) {
	bin := buildImageBinary(t)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has PT_INTERP: it is dynamically linked (CGO_ENABLED=0?)")
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Error("binary has a PT_DYNAMIC segment")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v (err %v)", libs, err)
	}
	f.Close()

	empty := t.TempDir()
	run := func(timeout time.Duration, args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = empty, []string{}
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("glocust %v did not finish in %s:\n%s", args, timeout, out)
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	if out, code := run(10*time.Second, "--version"); code != 0 || !strings.Contains(out, "glocust v9.8.7-test") {
		t.Errorf("--version: exit %d, %q; want the stamped version", code, out)
	}
	if out, code := run(10*time.Second, "--help"); code != 0 || !strings.Contains(out, "--master-host") {
		t.Errorf("--help: exit %d, %.200q", code, out)
	}
	if out, code := run(10*time.Second, "--worker", "-f", "missing.yaml"); code == 0 || !strings.Contains(out, "missing.yaml") {
		t.Errorf("worker without its scenario: exit %d, %q; want a non-zero exit naming the file", code, out)
	}

	// A worker with its scenario and no master: it starts, keeps trying to
	// connect, and stops cleanly on SIGTERM (the kubelet's stop), well inside
	// the manifests' terminationGracePeriodSeconds.
	if err := os.WriteFile(filepath.Join(empty, "scenario.yaml"), []byte("users:\n  - class: U\n    wait_time: {constant: 1}\n    tasks:\n      - request: {method: GET, path: /}\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "scenario.yaml", "--worker", "--master-host", "127.0.0.1", "--master-port", "1")
	cmd.Dir, cmd.Env = empty, []string{}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := regexp.MustCompile(`starting worker`)
	deadline := time.Now().Add(10 * time.Second)
	for !started.MatchString(out.String()) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("worker did not start in 10 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopAt := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker after SIGTERM: %v\n%s", err, out.String())
		}
		t.Logf("worker stopped %s after SIGTERM", time.Since(stopAt).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("worker ignored SIGTERM for 20 s:\n%s", out.String())
	}
}
