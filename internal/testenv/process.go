package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Command describes a process to start.
type Command struct {
	Path string   // executable
	Args []string // arguments, without the program name
	Env  []string // KEY=value entries added to (and overriding) the test's environment
	Dir  string   // working directory; "" = the test's
	// SeparateStdout sends stdout to a file of its own (read with
	// Process.Stdout) instead of the log, which then holds stderr only.
	SeparateStdout bool
}

// Process is a started child process. Its stdout and stderr go to one log file
// under t.TempDir() (stdout to a second file with Command.SeparateStdout);
// the log is printed when the test fails. The process (and
// its process group, so forked children too) is killed at test cleanup; a
// failed kill fails the test.
type Process struct {
	Name       string // short name used in logs: the executable's base name
	LogPath    string
	StdoutPath string // with Command.SeparateStdout; "" otherwise

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}

	mu   sync.Mutex
	err  error // from cmd.Wait, unless it is an *exec.ExitError
	code int
}

// ErrTimeout is returned by Wait when the process is still running.
var ErrTimeout = errors.New("testenv: process still running")

var logSeq struct {
	sync.Mutex
	n int
}

// Start starts c. It fails the test if the process cannot start.
func Start(t testing.TB, c Command) *Process {
	t.Helper()
	name := filepath.Base(c.Path)
	logSeq.Lock()
	logSeq.n++
	seq := logSeq.n
	logSeq.Unlock()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d.log", name, seq))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	var stdoutPath string
	var stdout *os.File
	if c.SeparateStdout {
		stdoutPath = strings.TrimSuffix(logPath, ".log") + ".stdout"
		if stdout, err = os.Create(stdoutPath); err != nil {
			f.Close()
			t.Fatalf("testenv: %v", err)
		}
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		if stdout != nil {
			stdout.Close()
		}
		t.Fatalf("testenv: start %s: %v", c.Path, err)
	}
	p := &Process{Name: name, LogPath: logPath, StdoutPath: stdoutPath, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if stdout != nil {
			stdout.Close()
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = nil // the exit code says it
		}
		p.mu.Lock()
		p.err, p.code = err, cmd.ProcessState.ExitCode()
		p.mu.Unlock()
		f.Close()
		close(p.done)
	}()
	t.Logf("testenv: started %s (pid %d): %s %s; log %s", name, cmd.Process.Pid, c.Path, strings.Join(c.Args, " "), logPath)
	t.Cleanup(func() {
		if err := p.Kill(); err != nil {
			t.Errorf("testenv: %v", err)
		}
		<-p.done
		if t.Failed() {
			out, err := p.Output()
			if err != nil {
				t.Logf("testenv: %v", err)
			}
			t.Logf("testenv: output of %s (pid %d):\n%s", name, cmd.Process.Pid, tail(out, 64<<10))
		}
	})
	return p
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Wait waits up to timeout for the process to exit and returns its exit code
// (-1 when killed by a signal). It returns ErrTimeout if it is still running,
// and the error of waiting for it if that failed otherwise.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		return 0, fmt.Errorf("%w after %v: %s (pid %d)", ErrTimeout, timeout, p.Name, p.PID())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.code, fmt.Errorf("testenv: waiting for %s (pid %d): %w", p.Name, p.PID(), p.err)
	}
	return p.code, nil
}

// Signal sends sig to the process (not its group).
func (p *Process) Signal(sig os.Signal) error {
	if !p.Running() {
		return os.ErrProcessDone
	}
	return p.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL to the process group, so children it forked die too.
// A process (or group) that is already gone is not an error.
func (p *Process) Kill() error {
	if !p.Running() {
		return nil
	}
	gerr := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(gerr, syscall.ESRCH) {
		gerr = nil
	}
	perr := p.cmd.Process.Kill()
	if errors.Is(perr, os.ErrProcessDone) {
		perr = nil
	}
	if err := errors.Join(gerr, perr); err != nil {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID(), err)
	}
	return nil
}

// Output returns everything the process wrote so far (stdout and stderr).
func (p *Process) Output() (string, error) {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return "", fmt.Errorf("testenv: output of %s: %w", p.Name, err)
	}
	return string(b), nil
}

// Stdout returns everything the process wrote to stdout so far; it needs
// Command.SeparateStdout.
func (p *Process) Stdout() ([]byte, error) {
	if p.StdoutPath == "" {
		return nil, fmt.Errorf("testenv: %s was started without SeparateStdout", p.Name)
	}
	b, err := os.ReadFile(p.StdoutPath)
	if err != nil {
		return nil, fmt.Errorf("testenv: stdout of %s: %w", p.Name, err)
	}
	return b, nil
}

// MustOutput returns Output, failing the test (from the test's goroutine
// only) if the log cannot be read.
func (p *Process) MustOutput(t testing.TB) string {
	t.Helper()
	out, err := p.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// WaitOutput waits up to timeout until the output contains substr.
func (p *Process) WaitOutput(substr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		exited := !p.Running() // before reading: what it printed before exiting is in the log
		out, err := p.Output()
		switch {
		case err != nil:
			return err
		case strings.Contains(out, substr):
			return nil
		case exited:
			return fmt.Errorf("testenv: %s exited without printing %q", p.Name, substr)
		case time.Now().After(deadline):
			return fmt.Errorf("testenv: %s did not print %q within %v", p.Name, substr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
