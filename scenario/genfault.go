package scenario

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/glocust/glocust/protocol"
)

// Generator-side faults: requests that fail because the load generator ran
// out of something, not because of the target. glocust runs many more
// users per process than Locust, so it meets these limits first. They are
// recorded with a failure text starting with protocol.GeneratorErrorPrefix
// ("generator: "), which the master counts apart, and the runner logs a
// warning saying what ran out and what to change.

type genKind uint8

const (
	genLocalPorts  genKind = iota // EADDRNOTAVAIL on connect
	genFiles                      // EMFILE
	genFileTable                  // ENFILE
	genStarvedDial                // a connect timed out while the process was starved of CPU
	numGenKinds
)

// genText is each kind's failure text: fixed, so each is one row in the
// stats however often it happens.
var genText = [numGenKinds]string{
	genLocalPorts:  protocol.GeneratorErrorPrefix + "out of local ports (EADDRNOTAVAIL)",
	genFiles:       protocol.GeneratorErrorPrefix + "out of file descriptors (EMFILE)",
	genFileTable:   protocol.GeneratorErrorPrefix + "system file table full (ENFILE)",
	genStarvedDial: protocol.GeneratorErrorPrefix + "connect timed out while the generator was short of CPU",
}

// starvedLateness is how late a connect's timeout must be noticed for the
// timeout to count as the generator's: the runtime's timers fire within a
// millisecond or so of their deadline unless the process does not get the
// CPU, so a timeout seen 50 ms or more after its deadline says that the
// process, not the target, was too slow (the connect may well have
// completed in the kernel in time).
const starvedLateness = 50 * time.Millisecond

// GeneratorError is a request failure caused by the load generator itself
// (see protocol.GeneratorErrorPrefix). Its text is fixed per kind.
type GeneratorError struct {
	kind genKind
	Err  error // the error of the failed operation
}

func (e *GeneratorError) Error() string { return genText[e.kind] }
func (e *GeneratorError) Unwrap() error { return e.Err }

// generatorFault returns err as a *GeneratorError if it is one of a
// connect to addr that failed on the generator's side; deadline is the
// connect's deadline (zero: none) and now the time it failed.
func generatorFault(err error, deadline, now time.Time) (*GeneratorError, bool) {
	var kind genKind
	switch {
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		kind = genLocalPorts
	case errors.Is(err, syscall.EMFILE):
		kind = genFiles
	case errors.Is(err, syscall.ENFILE):
		kind = genFileTable
	case !deadline.IsZero() && isTimeout(err) && now.Sub(deadline) >= starvedLateness:
		kind = genStarvedDial
	default:
		return nil, false
	}
	return &GeneratorError{kind: kind, Err: err}, true
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &te) && te.Timeout()
}

// genWarnEvery is how often a kind of generator fault is warned about
// again while it goes on.
const genWarnEvery = time.Minute

// genWarnings rate-limits the warnings about generator faults: the first
// of each kind is logged at once, later ones at most every genWarnEvery
// with how many happened since.
type genWarnings struct {
	last  [numGenKinds]time.Time
	since [numGenKinds]int64
}

// warnGenerator logs the warning for a generator fault met connecting to
// addr, unless one was logged less than genWarnEvery ago. It runs on the
// failure path only.
func (r *Runner) warnGenerator(e *GeneratorError, addr string) {
	now := time.Now()
	r.genMu.Lock()
	w := &r.genWarn
	w.since[e.kind]++
	if !w.last[e.kind].IsZero() && now.Sub(w.last[e.kind]) < genWarnEvery {
		r.genMu.Unlock()
		return
	}
	n := w.since[e.kind]
	first := w.last[e.kind].IsZero()
	w.last[e.kind], w.since[e.kind] = now, 0
	r.genMu.Unlock()

	msg := "scenario: the load generator ran out of something; the requests that fail for it are recorded as \"" +
		protocol.GeneratorErrorPrefix + "...\" failures, not as the target's"
	attrs := []any{"failure", genText[e.kind], "advice", r.genAdvice(e.kind, addr)}
	if !first {
		attrs = append(attrs, "occurrences_since_last_warning", n)
	}
	r.log.Warn(msg, attrs...)
}

// genAdvice says what ran out and what to change.
func (r *Runner) genAdvice(k genKind, addr string) string {
	users := r.UserCount()
	switch k {
	case genLocalPorts:
		if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().Is6() && !ipv6Usable() {
			return fmt.Sprintf("%s is an IPv6 address and this machine has no IPv6: connect to an IPv4 address of the target", addr)
		}
		s := fmt.Sprintf("no local port was free for another connection to %s: every open connection to one address "+
			"takes a local port, and so does every connection this side closed for a minute after (TIME_WAIT); "+
			"%d users run in this process", addr, users)
		if lo, hi, ok := localPortRange(); ok {
			s += fmt.Sprintf(", and net.ipv4.ip_local_port_range is %d-%d (%d ports)", lo, hi, hi-lo+1)
		}
		return s + ". Run fewer users per worker (more workers), widen the range " +
			"(sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"), keep connections alive instead of " +
			"connection: close, or spread the users over more target addresses"
	case genFiles:
		s := fmt.Sprintf("this process has no file descriptor left for another connection (%d users run in it", users)
		if n, ok := fileLimit(); ok {
			s += fmt.Sprintf(", the limit is %d", n)
		}
		return s + "). Raise the limit (ulimit -n, systemd's LimitNOFILE, the container's nofile limit) or run fewer users per worker"
	case genFileTable:
		return "the system's file table is full (fs.file-max). Raise fs.file-max or run fewer users on this machine"
	default:
		return fmt.Sprintf("a connect to %s timed out %v or more after its deadline: the process did not get the CPU "+
			"in time (%d users run in it), so the timeout says nothing about the target. Run fewer users per worker or "+
			"give the worker more CPU", addr, starvedLateness, users)
	}
}

// localPortRange reads net.ipv4.ip_local_port_range (Linux).
func localPortRange() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &lo, &hi); err != nil {
		return 0, 0, false
	}
	return lo, hi, true
}
