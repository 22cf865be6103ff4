package scenario

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGeneratorFaultClassification: which connect errors are the
// generator's, and their fixed texts.
func TestGeneratorFaultClassification(t *testing.T) {
	t.Parallel()
	deadline := time.Now()
	dialErr := func(errno syscall.Errno, call string) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(call, errno)}
	}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name     string
		err      error
		deadline time.Time
		now      time.Time
		want     string // "" if not the generator's
	}{
		{"ports", dialErr(syscall.EADDRNOTAVAIL, "connect"), time.Time{}, deadline, "generator: out of local ports (EADDRNOTAVAIL)"},
		{"fds", dialErr(syscall.EMFILE, "socket"), time.Time{}, deadline, "generator: out of file descriptors (EMFILE)"},
		{"file table", dialErr(syscall.ENFILE, "socket"), time.Time{}, deadline, "generator: system file table full (ENFILE)"},
		{"timeout noticed late", timeout, deadline, deadline.Add(starvedLateness), "generator: connect timed out while the generator was short of CPU"},
		{"timeout on time", timeout, deadline, deadline.Add(time.Millisecond), ""},
		{"timeout without deadline", timeout, time.Time{}, deadline.Add(time.Hour), ""},
		{"refused", dialErr(syscall.ECONNREFUSED, "connect"), time.Time{}, deadline, ""},
		{"unreachable", dialErr(syscall.EHOSTUNREACH, "connect"), time.Time{}, deadline, ""},
	}
	for _, tc := range tests {
		ge, ok := generatorFault(tc.err, tc.deadline, tc.now)
		got := ""
		if ok {
			got = failureText(ge)
			if !errors.Is(ge, tc.err) {
				t.Errorf("%s: the generator error does not wrap the connect's", tc.name)
			}
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// syncBuffer is a log destination for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestGeneratorWarningOncePerKind: the first fault of each kind is
// warned about with what to change; more of the same kind within a minute
// are not.
func TestGeneratorWarningOncePerKind(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	r := NewRunner(nil, nil, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	defer r.Close()
	ports := &GeneratorError{kind: genLocalPorts, Err: syscall.EADDRNOTAVAIL}
	files := &GeneratorError{kind: genFiles, Err: syscall.EMFILE}
	for range 3 {
		r.warnGenerator(ports, "127.0.0.2:80")
	}
	r.warnGenerator(files, "127.0.0.2:80")
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 2 {
		t.Errorf("%d warnings, want one per kind:\n%s", n, out)
	}
	for _, want := range []string{"ip_local_port_range", "users per worker", "ulimit -n", `generator: out of local ports (EADDRNOTAVAIL)`} {
		if !strings.Contains(out, want) {
			t.Errorf("the warnings do not mention %q:\n%s", want, out)
		}
	}
}
