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
}

// Process is a started child process. Its stdout and stderr go to one log file
// under t.TempDir(); the log is printed when the test fails. The process (and
// its process group, so forked children too) is killed at test cleanup.
type Process struct {
	Name    string // short name used in logs: the executable's base name
	LogPath string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}

	mu   sync.Mutex
	err  error // from cmd.Wait
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("testenv: start %s: %v", c.Path, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err, p.code = err, cmd.ProcessState.ExitCode()
		p.mu.Unlock()
		f.Close()
		close(p.done)
	}()
	t.Logf("testenv: started %s (pid %d): %s %s; log %s", name, cmd.Process.Pid, c.Path, strings.Join(c.Args, " "), logPath)
	t.Cleanup(func() {
		if p.Running() {
			p.Kill()
		}
		<-p.done
		if t.Failed() {
			t.Logf("testenv: output of %s (pid %d):\n%s", name, cmd.Process.Pid, tail(p.Output(), 64<<10))
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
// (-1 when killed by a signal). It returns ErrTimeout if it is still running.
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
func (p *Process) Kill() {
	if !p.Running() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
}

// Output returns everything the process wrote so far (stdout and stderr).
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// WaitOutput waits up to timeout until the output contains substr.
func (p *Process) WaitOutput(substr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Output(), substr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: %s did not print %q within %v", p.Name, substr, timeout)
		}
		if !p.Running() && !strings.Contains(p.Output(), substr) {
			return fmt.Errorf("testenv: %s exited without printing %q", p.Name, substr)
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
