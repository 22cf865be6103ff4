package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CgroupStat is what the kernel says about the process's cgroup: its CPU
// bandwidth throttling (cumulative counters) and its memory against its
// limit.
type CgroupStat struct {
	// Periods and ThrottledPeriods count the CFS enforcement periods that
	// elapsed while the cgroup had runnable tasks, and those in which it
	// used up its quota and was stopped (cpu.stat nr_periods and
	// nr_throttled). Both stay 0 without a CPU limit.
	Periods, ThrottledPeriods uint64
	// Throttled is the total time the cgroup's tasks were stopped
	// (cpu.stat throttled_usec in v2, throttled_time in v1).
	Throttled time.Duration
	// CPULimit is the quota in cores (cpu.max, or cpu.cfs_quota_us over
	// cpu.cfs_period_us); 0 without a limit.
	CPULimit float64
	// MemoryWorkingSet is the memory charged to the cgroup minus its
	// inactive file cache (memory.current or memory.usage_in_bytes, minus
	// inactive_file of memory.stat): the figure the kubelet evicts on and
	// kubectl top shows.
	MemoryWorkingSet int64
	// MemoryLimit is memory.max or memory.limit_in_bytes; 0 without a
	// limit.
	MemoryLimit int64
}

// Cgroup reads the CPU and memory controllers of the cgroup the process
// belongs to, cgroup v2 (the unified hierarchy) or v1, as
// /proc/self/mountinfo and /proc/self/cgroup place them. A controller
// mounted as v1 is read there; otherwise the v2 hierarchy's files are
// (a hybrid host mounts both). A Cgroup is immutable and safe for
// concurrent use.
type Cgroup struct {
	cpuDir, memDir string // "" when the controller was not found
	cpuV1, memV1   bool
}

// ErrNoCgroup means that neither the CPU nor the memory controller of the
// process's cgroup was found (not Linux, or /proc or the cgroup file
// system not mounted).
var ErrNoCgroup = errors.New("procstat: no cgroup CPU or memory controller found")

// OpenCgroup finds the process's cgroup under root, the directory that
// holds proc/ and the cgroup mounts ("/" outside tests).
func OpenCgroup(root string) (*Cgroup, error) {
	mounts, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoCgroup, err)
	}
	member, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoCgroup, err)
	}
	paths := cgroupPaths(member)
	c := &Cgroup{}
	var v2 string
	for _, m := range parseMountinfo(mounts) {
		switch m.fstype {
		case "cgroup2":
			if p, ok := paths[""]; ok && v2 == "" {
				v2 = filepath.Join(root, m.point, within(p, m.root))
			}
		case "cgroup":
			opts := strings.Split(m.super, ",")
			for _, ctl := range []string{"cpu", "memory"} {
				p, ok := paths[ctl]
				if !ok || !slices.Contains(opts, ctl) {
					continue
				}
				dir := filepath.Join(root, m.point, within(p, m.root))
				if ctl == "cpu" && c.cpuDir == "" {
					c.cpuDir, c.cpuV1 = dir, true
				} else if ctl == "memory" && c.memDir == "" {
					c.memDir, c.memV1 = dir, true
				}
			}
		}
	}
	if v2 != "" {
		if c.cpuDir == "" {
			c.cpuDir = v2
		}
		if c.memDir == "" {
			c.memDir = v2
		}
	}
	if c.cpuDir == "" && c.memDir == "" {
		return nil, ErrNoCgroup
	}
	return c, nil
}

// Version is 1 or 2: the hierarchy the CPU controller (else the memory
// controller) is read from.
func (c *Cgroup) Version() int {
	if c.cpuDir != "" && c.cpuV1 || c.cpuDir == "" && c.memV1 {
		return 1
	}
	return 2
}

// Read reads the current values. A file that is missing (a controller
// not enabled for the cgroup, a kernel without a key) leaves its fields
// 0; a file that cannot be parsed is an error.
func (c *Cgroup) Read() (CgroupStat, error) {
	var s CgroupStat
	var errs []error
	if c.cpuDir != "" {
		errs = append(errs, c.readCPU(&s))
	}
	if c.memDir != "" {
		errs = append(errs, c.readMemory(&s))
	}
	return s, errors.Join(errs...)
}

func (c *Cgroup) readCPU(s *CgroupStat) error {
	kv, err := readKeyed(filepath.Join(c.cpuDir, "cpu.stat"))
	if err != nil {
		return err
	}
	s.Periods, s.ThrottledPeriods = uint64(kv["nr_periods"]), uint64(kv["nr_throttled"])
	if c.cpuV1 {
		s.Throttled = time.Duration(kv["throttled_time"]) // ns
		quota, err1 := readInt(filepath.Join(c.cpuDir, "cpu.cfs_quota_us"))
		period, err2 := readInt(filepath.Join(c.cpuDir, "cpu.cfs_period_us"))
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if quota > 0 && period > 0 {
			s.CPULimit = float64(quota) / float64(period)
		}
		return nil
	}
	s.Throttled = time.Duration(kv["throttled_usec"]) * time.Microsecond
	b, err := readFile(filepath.Join(c.cpuDir, "cpu.max"))
	if err != nil || b == nil {
		return err
	}
	f := strings.Fields(string(b)) // "max 100000" or "50000 100000"
	if len(f) != 2 {
		return fmt.Errorf("procstat: %s: %q is not \"quota period\"", filepath.Join(c.cpuDir, "cpu.max"), b)
	}
	if f[0] != "max" {
		quota, err1 := strconv.ParseInt(f[0], 10, 64)
		period, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil || period <= 0 {
			return fmt.Errorf("procstat: %s: %q: %v", filepath.Join(c.cpuDir, "cpu.max"), b, err)
		}
		s.CPULimit = float64(quota) / float64(period)
	}
	return nil
}

// unlimitedV1 is where v1 limits start to mean "none": the kernel reports
// an unset memory.limit_in_bytes as the largest page-aligned int64
// (9223372036854771712).
const unlimitedV1 = 1 << 62

func (c *Cgroup) readMemory(s *CgroupStat) error {
	usageFile, limitFile, inactive := "memory.current", "memory.max", "inactive_file"
	if c.memV1 {
		usageFile, limitFile, inactive = "memory.usage_in_bytes", "memory.limit_in_bytes", "total_inactive_file"
	}
	usage, err := readInt(filepath.Join(c.memDir, usageFile))
	if err != nil {
		return err
	}
	stat, err := readKeyed(filepath.Join(c.memDir, "memory.stat"))
	if err != nil {
		return err
	}
	s.MemoryWorkingSet = max(usage-stat[inactive], 0)
	b, err := readFile(filepath.Join(c.memDir, limitFile))
	if err != nil || b == nil {
		return err
	}
	if v := strings.TrimSpace(string(b)); v != "max" {
		limit, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("procstat: %s: %w", filepath.Join(c.memDir, limitFile), err)
		}
		if limit < unlimitedV1 {
			s.MemoryLimit = limit
		}
	}
	return nil
}

// readFile returns the file's contents, or nil if it does not exist.
func readFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("procstat: %w", err)
	}
	return b, nil
}

// readInt reads a file holding one integer; a missing file reads 0.
func readInt(name string) (int64, error) {
	b, err := readFile(name)
	if err != nil || b == nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procstat: %s: %w", name, err)
	}
	return n, nil
}

// readKeyed reads a flat keyed file ("key value" lines, as cpu.stat and
// memory.stat); a missing file reads empty.
func readKeyed(name string) (map[string]int64, error) {
	b, err := readFile(name)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("procstat: %s: line %q is not \"key value\"", name, sc.Text())
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("procstat: %s: %s: %w", name, f[0], err)
		}
		out[f[0]] = n
	}
	return out, nil
}

// mount is one line of /proc/self/mountinfo: the root of the mounted
// tree, where it is mounted, its file system type and super options.
type mount struct{ root, point, fstype, super string }

// parseMountinfo reads the cgroup mounts of a mountinfo file (proc(5)):
// "id parent major:minor root point options [optional...] - fstype source super".
func parseMountinfo(b []byte) []mount {
	var out []mount
	for line := range strings.SplitSeq(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || !strings.HasPrefix(g[0], "cgroup") {
			continue
		}
		out = append(out, mount{root: unescape(f[3]), point: unescape(f[4]), fstype: g[0], super: g[2]})
	}
	return out
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and
// backslash (\040, \011, \012, \134).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupPaths reads /proc/self/cgroup ("id:controllers:path" lines): the
// path per v1 controller, and under "" the v2 path (id 0, no controllers).
func cgroupPaths(b []byte) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for ctl := range strings.SplitSeq(parts[1], ",") {
			out[ctl] = parts[2]
		}
	}
	return out
}

// within is p relative to the mount's root (both absolute cgroup paths).
// A path outside the mounted tree (a cgroup namespace can show "/" or a
// path with "..") is the mount point itself: the process's own cgroup is
// what the container sees mounted.
func within(p, root string) string {
	if strings.Contains(p, "..") {
		return "."
	}
	p, root = path.Clean(p), path.Clean(root)
	switch {
	case root == "/":
		return path.Join(".", p)
	case p == root:
		return "."
	}
	if rel, ok := strings.CutPrefix(p, root+"/"); ok {
		return rel
	}
	return "."
}
