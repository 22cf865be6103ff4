package scenario

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The generator-side faults provoked for real, each in a child process of
// the test binary (the test re-runs itself with childEnv set), so that the
// limits it lowers stay out of the other tests' way.

const (
	childEnv    = "GLOCUST_TEST_CHILD"     // which child to be
	childOutEnv = "GLOCUST_TEST_CHILD_OUT" // where the child writes its report
	childURLEnv = "GLOCUST_TEST_CHILD_URL" // the target, when the parent serves it
)

// childReport is what a child saw.
type childReport struct {
	OK       int
	Failures map[string]int // by failure text
	Logs     string
	Accepted int // connections the target accepted, when the child serves it
}

// runChild runs this test again in a child process with the given extra
// environment and process attributes, and returns the child's report.
func runChild(t *testing.T, kind string, env []string, attr *syscall.SysProcAttr) (childReport, error) {
	var rep childReport
	out := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.timeout=50s")
	cmd.Env = append(append(os.Environ(), childEnv+"="+kind, childOutEnv+"="+out), env...)
	cmd.SysProcAttr = attr
	if b, err := cmd.CombinedOutput(); err != nil {
		return rep, fmt.Errorf("child %s: %v\n%s", kind, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return rep, err
	}
	return rep, json.Unmarshal(b, &rep)
}

// childLoad runs users users against host until it saw at least min
// successes and min failures (or 10 s passed), and reports them with the
// runner's log.
func childLoad(t *testing.T, host string, users, min int) childReport {
	t.Helper()
	var logs syncBuffer
	st := newFakeStats()
	c := &Class{Name: "U", WaitTime: Constant(10 * time.Millisecond), Tasks: []Task{{Fn: func(ctx context.Context, u *UserContext) error {
		u.HTTP.Do(ctx, &Request{URL: "/", Name: "/", Timeout: 5 * time.Second})
		return nil
	}}}}
	r := NewRunner([]*Class{c}, st, WithHost(host), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	r.Apply(counts("U", users))
	rep := childReport{Failures: map[string]int{}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rep.tally(st.all())
		if rep.OK >= min && len(rep.Failures) > 0 && sum(rep.Failures) >= min {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.StopAll(context.Background(), 0)
	r.Close()
	rep.Logs = logs.String()
	return rep
}

// tally counts recs into rep (replacing its counts).
func (rep *childReport) tally(recs []rec) {
	rep.OK = 0
	clear(rep.Failures)
	for _, rc := range recs {
		if rc.fail {
			rep.Failures[rc.err]++
		} else {
			rep.OK++
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// writeReport writes the child's report where the parent reads it.
func writeReport(t *testing.T, f *os.File, rep childReport) {
	t.Helper()
	if err := json.NewEncoder(f).Encode(rep); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkGeneratorOnly fails unless the child had successes and every failure
// was the generator fault want, warned about with advice mentioning each
// of advice.
func checkGeneratorOnly(t *testing.T, rep childReport, want string, advice ...string) {
	t.Helper()
	if rep.OK == 0 || rep.Failures[want] == 0 || len(rep.Failures) != 1 {
		t.Errorf("successes %d, failures %v; want successes and only %q failures", rep.OK, rep.Failures, want)
	}
	if n := strings.Count(rep.Logs, "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want one:\n%s", n, rep.Logs)
	}
	for _, a := range advice {
		if !strings.Contains(rep.Logs, a) {
			t.Errorf("the warning does not say %q:\n%s", a, rep.Logs)
		}
	}
}

// TestFileDescriptorExhaustion: a worker whose users need more file
// descriptors than its limit allows records the connects that fail as
// generator failures (EMFILE), not as the target's, and says to raise
// ulimit -n.
func TestFileDescriptorExhaustion(t *testing.T) {
	if os.Getenv(childEnv) == "fds" {
		f, err := os.Create(os.Getenv(childOutEnv))
		if err != nil {
			t.Fatal(err)
		}
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		lim.Cur = uint64(len(fds) + 6) // room for about 6 connections (and nothing else)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		writeReport(t, f, childLoad(t, os.Getenv(childURLEnv), 16, 30))
		return
	}
	t.Parallel()
	srv, err := serveOn(t, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runChild(t, "fds", []string{fmt.Sprintf("%s=http://127.0.0.1:%d", childURLEnv, srv.port)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkGeneratorOnly(t, rep, "generator: out of file descriptors (EMFILE)", "ulimit -n", "users run in it")
	if _, opens, _ := srv.counts("127.0.0.1"); opens >= 16 {
		t.Errorf("the target accepted %d connections: every user connected, the limit did not bite", opens)
	}
}

// TestEphemeralPortExhaustion: in a network namespace of its own (so the
// host's settings stay untouched), with net.ipv4.ip_local_port_range
// narrowed to 10 ports, more users than ports connect to a loopback alias
// (127.0.0.2): the connects that find no free local port are generator
// failures (EADDRNOTAVAIL), not the target's, and the warning names the
// range. It needs root (CI runs as root) and fails without it.
func TestEphemeralPortExhaustion(t *testing.T) {
	if os.Getenv(childEnv) == "ports" {
		childPorts(t)
		return
	}
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("needs root to make a network namespace (CI runs the tests as root)")
	}
	rep, err := runChild(t, "ports", nil, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	if err != nil {
		t.Fatal(err)
	}
	checkGeneratorOnly(t, rep, "generator: out of local ports (EADDRNOTAVAIL)",
		"net.ipv4.ip_local_port_range is 40000-40009 (10 ports)", "users run in this process", "127.0.0.2:")
	if rep.Accepted != 10 {
		t.Errorf("the target accepted %d connections, want 10 (one per local port)", rep.Accepted)
	}
}

// childPorts runs in the new network namespace: loopback up, 10 local
// ports, a target on 127.0.0.2 and 16 users.
func childPorts(t *testing.T) {
	f, err := os.Create(os.Getenv(childOutEnv))
	if err != nil {
		t.Fatal(err)
	}
	if err := loopbackUp(); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	// The target's port comes from the default range, before it narrows.
	srv, err := serveOn(t, "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", []byte("40000 40009"), 0); err != nil {
		t.Fatal(err)
	}
	rep := childLoad(t, fmt.Sprintf("http://127.0.0.2:%d", srv.port), 16, 30)
	_, rep.Accepted, _ = srv.counts("127.0.0.2")
	writeReport(t, f, rep)
}

// loopbackUp sets the loopback interface up (SIOCSIFFLAGS), as
// "ip link set lo up" does.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: the name, then the flags (a short)
	copy(ifr[:], "lo")
	ioctl := func(req uintptr) error {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
			return e
		}
		return nil
	}
	if err := ioctl(syscall.SIOCGIFFLAGS); err != nil {
		return err
	}
	binary.NativeEndian.PutUint16(ifr[16:], binary.NativeEndian.Uint16(ifr[16:])|syscall.IFF_UP)
	return ioctl(syscall.SIOCSIFFLAGS)
}

// TestNoIPv6: on a machine without IPv6 (a network namespace with IPv6
// disabled), a name that resolves to an IPv6 and an IPv4 address is used
// through its IPv4 address only, as urllib3 does; no user tries the IPv6
// one and fails. It needs root, like TestEphemeralPortExhaustion.
func TestNoIPv6(t *testing.T) {
	if os.Getenv(childEnv) == "noipv6" {
		f, err := os.Create(os.Getenv(childOutEnv))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/all/disable_ipv6", []byte("1"), 0); err != nil {
			t.Fatal(err)
		}
		if err := loopbackUp(); err != nil {
			t.Fatalf("bringing lo up: %v", err)
		}
		srv, err := serveOn(t, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		res := newFakeResolver()
		res.set("dual.test", "::1", "127.0.0.1")
		st := newFakeStats()
		r := NewRunner(nil, st, WithResolver(res))
		rep := childReport{Failures: map[string]int{}}
		for id := range int64(4) {
			u := testUserWith(t, r, fmt.Sprintf("http://dual.test:%d", srv.port), r.defaultProf, id)
			u.HTTP.Do(context.Background(), &Request{URL: "/", Name: "/", Timeout: 5 * time.Second})
		}
		r.Close()
		rep.tally(st.all())
		writeReport(t, f, rep)
		return
	}
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("needs root to make a network namespace (CI runs the tests as root)")
	}
	rep, err := runChild(t, "noipv6", nil, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 4 || len(rep.Failures) != 0 {
		t.Errorf("successes %d, failures %v; want 4 and none", rep.OK, rep.Failures)
	}
}

// TestTargetConnectTimeoutIsTheTargets: a connect that times out because
// the target does not accept (its accept queue is full, so its kernel
// drops the connection requests) is the target's failure, not the
// generator's.
func TestTargetConnectTimeoutIsTheTargets(t *testing.T) {
	t.Parallel()
	addr, closeListener, err := fullListener()
	if err != nil {
		t.Fatal(err)
	}
	defer closeListener()
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, "http://"+addr)
	u.HTTP.Do(context.Background(), &Request{URL: "/", Name: "x", Timeout: 200 * time.Millisecond})
	recs := st.all()
	if len(recs) != 1 {
		t.Fatalf("records: %+v", recs)
	}
	checkRec(t, "connect to a full accept queue", recs[0], "request timed out")
}

// fullListener listens on 127.0.0.1 with an accept queue of one that it
// fills (and never accepts from), so that further connects hang.
func fullListener() (addr string, closeAll func(), err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	var conns []net.Conn
	closeAll = func() {
		for _, c := range conns {
			c.Close()
		}
		syscall.Close(fd)
	}
	if err = syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err == nil {
		err = syscall.Listen(fd, 0)
	}
	var sa syscall.Sockaddr
	if err == nil {
		sa, err = syscall.Getsockname(fd)
	}
	if err != nil {
		closeAll()
		return "", nil, err
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr, closeAll, nil // the queue is full: connects now hang
		}
		conns = append(conns, c)
	}
	closeAll()
	return "", nil, errors.New("the accept queue never filled up")
}
