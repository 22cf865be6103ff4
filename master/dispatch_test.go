package master

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docClasses and docWorkers are the example of docs/protocol.md section
// 4.3, whose steps were checked against Locust's own UsersDispatcher.
var (
	docWorkers = []string{"hostb_2", "hosta_1", "hosta_0"}
	docClasses = []UserClass{{Name: "A", Weight: 3}, {Name: "B", Weight: 1}, {Name: "F", Weight: 1, FixedCount: 1}}
)

func TestDispatchDocExample(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(docWorkers, docClasses)
	d.NewDispatch(7, 2.5, nil)
	want := []struct {
		delay time.Duration
		added []string // "worker class"
	}{
		{0, []string{"hosta_0 F", "hostb_2 A"}},
		{800 * time.Millisecond, []string{"hosta_0 A", "hosta_1 B"}},
		{800 * time.Millisecond, []string{"hosta_1 A", "hostb_2 A"}},
		{800 * time.Millisecond, []string{"hosta_0 B"}},
	}
	prev := d.Counts()
	for i, w := range want {
		if got := d.StepDelay(); got != w.delay {
			t.Errorf("step %d: StepDelay = %v, want %v", i, got, w.delay)
		}
		m, ok := d.Next()
		if !ok {
			t.Fatalf("step %d: dispatch ended early", i)
		}
		if got := addedUsers(prev, m); !slices.Equal(got, w.added) {
			t.Errorf("step %d: added %v, want %v", i, got, w.added)
		}
		if !d.DispatchInProgress() {
			t.Errorf("step %d: DispatchInProgress = false", i)
		}
		prev = m
	}
	if got := d.StepDelay(); got != 0 {
		t.Errorf("StepDelay after the last step = %v, want 0", got)
	}
	if m, ok := d.Next(); ok {
		t.Fatalf("extra step %v", m)
	}
	if d.DispatchInProgress() {
		t.Error("DispatchInProgress after the end = true")
	}
}

// addedUsers lists "worker class" once per user added from prev to cur, sorted.
func addedUsers(prev, cur map[string]map[string]int) []string {
	var out []string
	for w, classes := range cur {
		for c, n := range classes {
			for range n - prev[w][c] {
				out = append(out, w+" "+c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// klPicks runs a KL generator over classes A and B with weights a and b, skips
// its first skip picks and returns the next n as a string of A and B.
func klPicks(a, b, skip, n int) string {
	g := newKLGen([]klWeight{{class: 0, weight: a}, {class: 1, weight: b}})
	for range skip {
		g.next()
	}
	var sb strings.Builder
	for range n {
		c, _ := g.next()
		sb.WriteByte("AB"[c])
	}
	return sb.String()
}

func TestDispatchKLSequence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b int
		want string
	}{
		{5, 1, "AABAAAAABAAA"},
		{3, 1, "ABAAABAAABAA"},
		{1, 1, "ABABABAB"},
	} {
		if got := klPicks(tc.a, tc.b, 0, len(tc.want)); got != tc.want {
			t.Errorf("weights %d:%d: got %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	if _, ok := newKLGen(nil).next(); ok {
		t.Error("empty KL generator yielded a class")
	}
}

// TestDispatchKLLastBit pins two places where the KL order depends on the last
// bit of log2, so that Go's math.Log2 instead of log2 would swap two users.
// The wanted windows are what Locust's _kl_generator yields.
func TestDispatchKLLastBit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b, skip int
		want       string
	}{
		// Picks 143,913 and 143,914: A at n = 65160 and B at n = 78878 are
		// equal in CPython (n breaks the tie); with math.Log2, B is smaller.
		{57, 69, 143908, "ABABABBABA"},
		// Picks 246,150 and 246,151: B at n = 135393 is 2 ulp below A at
		// n = 110776 in CPython; with math.Log2 they are equal.
		{9, 11, 246145, "ABABBABABA"},
	} {
		if got := klPicks(tc.a, tc.b, tc.skip, len(tc.want)); got != tc.want {
			t.Errorf("weights %d:%d after %d picks: got %s, want %s", tc.a, tc.b, tc.skip, got, tc.want)
		}
	}
}

func TestDispatchWorkerOrder(t *testing.T) {
	t.Parallel()
	ws := []workerNode{{id: "b_1"}, {id: "a_2"}, {id: "a_1"}, {id: "c"}, {id: "b_0"}, {id: "a_0"}}
	sortWorkers(ws)
	var got []string
	for _, w := range ws {
		got = append(got, w.id)
	}
	want := []string{"a_0", "b_0", "c", "a_1", "b_1", "a_2"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestDispatchLog2(t *testing.T) {
	t.Parallel()
	if got := log2(0.5); got != -1 {
		t.Errorf("log2(0.5) = %v", got)
	}
	if got := log2(1); got != 0 {
		t.Errorf("log2(1) = %v", got)
	}
	// Values of CPython's math.log2 (glibc) where Go's math.Log2 differs.
	for x, want := range map[float64]float64{3: -0.4150374992788438, 6: -0.22239242133644802, 8: -0.16992500144231246, 13: -0.1069152039165119} {
		if got := log2(x / (x + 1)); got != want {
			t.Errorf("log2(%v/%v) = %v, want %v", x, x+1, got, want)
		}
	}
	for i := 1; i < 100000; i += 7 {
		x := float64(i)
		a := x / (x + 1)
		if got, ref := log2(a), math.Log2(a); math.Abs(got-ref) > 2*math.Abs(math.Nextafter(ref, 0)-ref) {
			t.Fatalf("log2(%v) = %v, math.Log2 = %v", a, got, ref)
		}
	}
}

func TestDispatchCheck(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(docWorkers, docClasses)
	for _, tc := range []struct {
		target  int
		rate    float64
		classes []string
		ok      bool
	}{
		{0, 1, nil, true},
		{1, 0.01, []string{"B", "A"}, true},
		{-1, 1, nil, false},
		{1, 0, nil, false},
		{1, math.NaN(), nil, false},
		{1, math.Inf(1), nil, false},
		{1, 1, []string{"X"}, false},
		{1, 1, []string{"A", "A"}, false},
	} {
		if err := d.CheckDispatch(tc.target, tc.rate, tc.classes); (err == nil) != tc.ok {
			t.Errorf("CheckDispatch(%d, %v, %v) = %v", tc.target, tc.rate, tc.classes, err)
		}
	}
}

// drain runs d's current dispatch to its end and returns the steps it
// yielded; it gives up after limit steps (a dispatch that never ends).
func drain(d *Dispatcher, limit int) ([]map[string]map[string]int, error) {
	var steps []map[string]map[string]int
	for {
		m, ok := d.Next()
		if !ok {
			return steps, nil
		}
		if steps = append(steps, m); len(steps) > limit {
			return steps, fmt.Errorf("dispatch not finished after %d steps", limit)
		}
	}
}

// fresh returns where a dispatch of users from zero ends.
func fresh(ws []string, classes []UserClass, users int) (map[string]map[string]int, error) {
	d := NewDispatcher(ws, classes)
	d.NewDispatch(users, math.MaxInt32, nil)
	_, err := drain(d, users+2)
	return d.Counts(), err
}

// TestDispatchResume: a dispatcher resumed at n users (a run the master
// adopted) first yields where a dispatch of n from zero ends, then ramps
// from n, step by step, and ends where a dispatch of m from zero ends,
// whether m is above or below n.
func TestDispatchResume(t *testing.T) {
	t.Parallel()
	cases := []struct {
		workers []string
		classes []UserClass
	}{
		{docWorkers, docClasses},
		{[]string{"h_a", "h_b"}, []UserClass{{Name: "A", Weight: 3}, {Name: "B", Weight: 1}}},
		{[]string{"x_1"}, []UserClass{{Name: "A", Weight: 1}, {Name: "F", Weight: 1, FixedCount: 2}}},
	}
	const rate = 2 // 2 users per step
	for ci, c := range cases {
		for n := 0; n <= 12; n++ {
			start, err := fresh(c.workers, c.classes, n)
			if err != nil {
				t.Fatal(err)
			}
			for m := 0; m <= 12; m++ {
				want, err := fresh(c.workers, c.classes, m)
				if err != nil {
					t.Fatal(err)
				}
				d := NewDispatcher(c.workers, c.classes)
				d.Resume(n)
				d.NewDispatch(m, rate, nil)
				steps, err := drain(d, 100)
				if err != nil {
					t.Fatalf("case %d, %d -> %d: %v", ci, n, m, err)
				}
				if wantSteps := 1 + (max(n-m, m-n)+rate-1)/rate; len(steps) != wantSteps {
					t.Errorf("case %d, %d -> %d: %d steps, want %d", ci, n, m, len(steps), wantSteps)
				}
				if len(steps) == 0 || !maps.EqualFunc(steps[0], start, maps.Equal) {
					t.Errorf("case %d, %d -> %d: first step %v, want the assignment of %d users %v", ci, n, m, steps, n, start)
				}
				if got := d.Counts(); !maps.EqualFunc(got, want, maps.Equal) {
					t.Errorf("case %d, %d -> %d: ends at %v, want %v", ci, n, m, got, want)
				}
			}
		}
	}
	// No worker: only the count.
	d := NewDispatcher(nil, docClasses)
	d.Resume(3)
	if d.current != 3 || d.rebalance {
		t.Errorf("resumed with no worker: current %d, rebalance %v", d.current, d.rebalance)
	}
}

// ---- the oracle: Locust's own UsersDispatcher ----

type oracleClass struct {
	Name       string `json:"name"`
	Weight     int    `json:"weight"`
	FixedCount int    `json:"fixed_count"`
}

type oracleOp struct {
	Op      string   `json:"op"` // new_dispatch, add_worker, remove_worker, next
	Target  int      `json:"target"`
	Rate    float64  `json:"rate"`
	Classes []string `json:"classes"` // nil is Python's None
	ID      string   `json:"id"`
	Steps   int      `json:"steps"`
}

type oracleCase struct {
	Workers []string      `json:"workers"`
	Classes []oracleClass `json:"classes"`
	Ops     []oracleOp    `json:"ops"`
}

// oraclePython finds the Python that has Locust: $GLOCUST_PYTHON, else .venv at
// the module root. It fails the test if there is none.
func oraclePython(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GLOCUST_PYTHON"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".venv", "bin", "python")
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("no Locust to compare with: set GLOCUST_PYTHON to a Python with locust installed, or create %s (./scripts/test does): %v", p, err)
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory and GLOCUST_PYTHON is unset: cannot find Locust's Python")
		}
		dir = parent
	}
}

const stepsUntilDone = 600 // more than any single ramp of the generated cases

func TestDispatchOracle(t *testing.T) {
	t.Parallel()
	python := oraclePython(t)
	cases := oracleCases()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(python, filepath.Join("testdata", "dispatch_oracle.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("oracle %s: %v", python, err)
	}
	// Python computes while Go replays and compares.
	o := &oracleReader{r: bufio.NewReaderSize(stdout, 1<<20)}
	_, v, _ := o.expect("locust", 0)
	version := string(v) // v points into the reader's buffer
	var steps, failed int
	for i, c := range cases {
		s, msg := replayCase(c, o)
		steps += s
		if o.err != nil {
			break
		}
		if msg != "" {
			failed++
			cj, _ := json.Marshal(c)
			t.Errorf("case %d differs from Locust at %s\ncase: %s", i, msg, cj)
			if failed == 3 {
				t.Error("stopping after 3 differing cases")
				break
			}
			o.skipCase()
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("oracle %s: %v\n%s", python, err, stderr.Bytes())
	}
	if o.err != nil {
		t.Fatalf("oracle output: %v\n%s", o.err, stderr.Bytes())
	}
	t.Logf("%d cases, %d steps compared with the UsersDispatcher of Locust %s in %v (%d bytes of oracle output)",
		len(cases), steps, version, time.Since(start).Round(time.Millisecond), o.n)
}

// oracleReader reads dispatch_oracle.py's output lines.
type oracleReader struct {
	r   *bufio.Reader
	n   int
	err error
}

// line returns the next line split as "kind rest", or ok=false on a read error.
func (o *oracleReader) line() (kind string, rest []byte, ok bool) {
	if o.err != nil {
		return "", nil, false
	}
	b, err := o.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // a line longer than the buffer
		b = slices.Clone(b)
		for err == bufio.ErrBufferFull {
			var more []byte
			more, err = o.r.ReadSlice('\n')
			b = append(b, more...)
		}
	}
	if err != nil {
		o.err = fmt.Errorf("read: %w", err)
		return "", nil, false
	}
	o.n += len(b)
	b = bytes.TrimSuffix(b, []byte("\n"))
	k, r, _ := bytes.Cut(b, []byte(" "))
	return string(k), r, true
}

// skipCase skips the rest of a case's output, up to its "end" line.
func (o *oracleReader) skipCase() {
	for {
		if k, _, ok := o.line(); !ok || k == "end" {
			return
		}
	}
}

// expect reads the next line, which must be of the given kind, and returns its
// fields: the first n space-separated ones, then the rest, which is only valid
// until the next read.
func (o *oracleReader) expect(kind string, n int) ([]string, []byte, bool) {
	k, rest, ok := o.line()
	if !ok {
		return nil, nil, false
	}
	if k != kind {
		o.err = fmt.Errorf("got a %q line, want %q", k, kind)
		return nil, nil, false
	}
	fields := make([]string, n)
	for i := range fields {
		var f []byte
		f, rest, _ = bytes.Cut(rest, []byte(" "))
		fields[i] = string(f)
	}
	return fields, rest, true
}

// replayCase runs c on a Dispatcher and compares every step with the oracle's
// lines. It returns the number of steps compared and where the first
// difference is ("" if none). After a difference the case's remaining lines
// are left unread.
func replayCase(c oracleCase, o *oracleReader) (int, string) {
	classes := make([]UserClass, len(c.Classes))
	for i, oc := range c.Classes {
		classes[i] = UserClass{Name: oc.Name, Weight: oc.Weight, FixedCount: oc.FixedCount}
	}
	d := NewDispatcher(c.Workers, classes)
	steps := 0
	var enc countsEncoder
	for i, op := range c.Ops {
		where := fmt.Sprintf("op %d (%s)", i, op.Op)
		switch op.Op {
		case "new_dispatch":
			d.NewDispatch(op.Target, op.Rate, op.Classes)
		case "add_worker":
			d.AddWorker(op.ID)
		case "remove_worker":
			d.RemoveWorker(op.ID)
		case "next":
			for j := range op.Steps {
				at := fmt.Sprintf("%s step %d", where, j)
				delay := d.StepDelay()
				m, ok := d.Next()
				f, users, lok := o.expect("step", 2)
				if !lok {
					return steps, ""
				}
				steps++
				pySleep, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					o.err = err
					return steps, ""
				}
				if want := time.Duration(math.Round(pySleep * 1e9)); delay < want-1 || delay > want+1 {
					return steps, fmt.Sprintf("%s: StepDelay %v before Next, Locust slept %vs in next()", at, delay, pySleep)
				}
				if pyOK := string(users) != "null"; ok != pyOK {
					return steps, fmt.Sprintf("%s: Go continues=%v, Locust continues=%v (Go %v)", at, ok, pyOK, m)
				}
				if ok {
					if msg := diffCounts(m, enc.encode(m), users); msg != "" {
						return steps, at + ": " + msg
					}
				}
				if got, want := d.DispatchInProgress(), f[1] == "1"; got != want {
					return steps, fmt.Sprintf("%s: DispatchInProgress %v, Locust %v", at, got, want)
				}
				if !ok {
					break
				}
			}
		default:
			panic("unknown op " + op.Op)
		}
		f, counts, ok := o.expect("op", 1)
		if !ok {
			return steps, ""
		}
		m := d.Counts()
		if msg := diffCounts(m, enc.encode(m), counts); msg != "" {
			return steps, fmt.Sprintf("after %s: Counts: %s", where, msg)
		}
		if got, want := d.DispatchInProgress(), f[0] == "1"; got != want {
			return steps, fmt.Sprintf("after %s: DispatchInProgress %v, Locust %v", where, got, want)
		}
	}
	o.expect("end", 0)
	return steps, ""
}

// countsEncoder encodes assignments as canonical JSON: sorted keys, no spaces
// (the ids and class names of these tests need no escaping), like Python's
// json.dumps(sort_keys=True, separators=(",", ":")). It reuses the sorted keys
// of the previous call while they still match.
type countsEncoder struct {
	buf            []byte
	workers, names []string
}

// sortedKeys returns the sorted keys of m, reusing *cache if it holds exactly them.
func sortedKeys[V any](m map[string]V, cache *[]string) []string {
	if len(*cache) == len(m) {
		same := true
		for _, k := range *cache {
			if _, ok := m[k]; !ok {
				same = false
				break
			}
		}
		if same {
			return *cache
		}
	}
	*cache = slices.Sorted(maps.Keys(m))
	return *cache
}

func (e *countsEncoder) encode(m map[string]map[string]int) []byte {
	b := append(e.buf[:0], '{')
	for i, id := range sortedKeys(m, &e.workers) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id...)
		b = append(b, `":{`...)
		inner := m[id]
		for j, c := range sortedKeys(inner, &e.names) {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, c...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, int64(inner[c]), 10)
		}
		b = append(b, '}')
	}
	e.buf = append(b, '}')
	return e.buf
}

// diffCounts compares a Go assignment (m, canonically encoded as enc) with
// Python's, and describes the difference if any.
func diffCounts(m map[string]map[string]int, enc, want []byte) string {
	if bytes.Equal(enc, want) {
		return ""
	}
	var w map[string]map[string]int
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Sprintf("bad oracle JSON %s: %v", want, err)
	}
	var diffs []string
	for id, classes := range w {
		if _, ok := m[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("worker %s missing in Go", id))
			continue
		}
		for c, n := range classes {
			if g, ok := m[id][c]; !ok || g != n {
				diffs = append(diffs, fmt.Sprintf("%s/%s Go %d Locust %d", id, c, g, n))
			}
		}
	}
	for id := range m {
		if _, ok := w[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("worker %s only in Go", id))
		}
	}
	slices.Sort(diffs)
	return fmt.Sprintf("%s\n  Go:     %s\n  Locust: %s", strings.Join(diffs, "; "), enc, want)
}

// oracleCases is the deterministic test corpus: hand-written edge cases, then
// seeded random ones.
func oracleCases() []oracleCase {
	docCls := []oracleClass{{"A", 3, 0}, {"B", 1, 0}, {"F", 1, 1}}
	next := func(n int) oracleOp { return oracleOp{Op: "next", Steps: n} }
	nd := func(target int, rate float64, classes ...string) oracleOp {
		return oracleOp{Op: "new_dispatch", Target: target, Rate: rate, Classes: classes}
	}
	add := func(id string) oracleOp { return oracleOp{Op: "add_worker", ID: id} }
	rm := func(id string) oracleOp { return oracleOp{Op: "remove_worker", ID: id} }
	cases := []oracleCase{
		// The verified example of the protocol doc, then down, then up again.
		{Workers: docWorkers, Classes: docCls, Ops: []oracleOp{
			nd(7, 2.5), next(stepsUntilDone), nd(2, 2.5), next(stepsUntilDone), nd(9, 0.7), next(stepsUntilDone)}},
		// Only fixed_count classes: the generator runs out (Python's None).
		{Workers: []string{"a_1", "a_2", "b_1"}, Classes: []oracleClass{{"F", 1, 2}, {"G", 1, 3}}, Ops: []oracleOp{
			nd(10, 3), next(stepsUntilDone), nd(2, 1), next(stepsUntilDone), nd(8, 100), next(stepsUntilDone)}},
		// Class picker: a subset, an empty selection, then nil (keeps the last one).
		{Workers: []string{"x_1", "y_1", "y_2"}, Classes: docCls, Ops: []oracleOp{
			nd(6, 2, "B", "F"), next(stepsUntilDone), {Op: "new_dispatch", Target: 9, Rate: 2, Classes: []string{}},
			next(stepsUntilDone), nd(3, 1), next(stepsUntilDone), nd(12, 5, "A"), next(stepsUntilDone), nd(12, 5), next(stepsUntilDone)}},
		// Changing the classes while users run, then a rebalance that cannot
		// redistribute them all: Python's ramp-down then never finishes.
		{Workers: []string{"h_1", "h_2"}, Classes: []oracleClass{{"A", 1, 0}, {"F", 1, 1}}, Ops: []oracleOp{
			nd(10, 10), next(stepsUntilDone), nd(5, 1, "F"), next(1), add("h_3"), next(30)}},
		// A rebalance with the target already met, before the first step.
		{Workers: []string{"h_1", "h_2"}, Classes: docCls, Ops: []oracleOp{
			nd(5, 10), next(stepsUntilDone), nd(5, 10), add("g_1"), next(stepsUntilDone),
			rm("h_1"), next(3), nd(5, 1), rm("h_2"), next(stepsUntilDone)}},
		// Workers added before the first dispatch, starting from none.
		{Workers: []string{}, Classes: docCls, Ops: []oracleOp{
			add("k_1"), add("j_1"), nd(5, 2), next(stepsUntilDone), add("k_2"), nd(5, 2), next(stepsUntilDone)}},
		// Removing every worker, dispatching anyway, then a new worker.
		{Workers: []string{"h_1", "h_2"}, Classes: docCls, Ops: []oracleOp{
			nd(4, 1), next(2), rm("h_1"), rm("h_2"), next(stepsUntilDone), nd(7, 1), next(stepsUntilDone),
			add("z_9"), next(stepsUntilDone), nd(1, 0.5), next(stepsUntilDone)}},
		// Duplicate and unknown workers, ids without or with several "_".
		{Workers: []string{"a", "a_b_c", "a_b", "b"}, Classes: docCls, Ops: []oracleOp{
			nd(11, 3), next(2), add("b"), next(stepsUntilDone), rm("nope"), next(stepsUntilDone),
			rm("b"), nd(20, 4), next(stepsUntilDone)}},
		// Ramps that stop in the middle of the fixed_count users, then remove
		// some: the fixed users are recounted once the pending ones are out.
		{Workers: []string{"m_1", "n_1"}, Classes: []oracleClass{{"F", 1, 3}, {"G", 1, 2}, {"A", 1, 0}}, Ops: []oracleOp{
			nd(2, 1), next(stepsUntilDone), nd(1, 1), next(stepsUntilDone), nd(6, 2), next(stepsUntilDone),
			nd(3, 1), next(1), add("m_2"), nd(9, 1), next(stepsUntilDone)}},
		// Ramps across the two places of TestDispatchKLLastBit, where Go's
		// math.Log2 would give two workers a user of the other class.
		{Workers: []string{"h_1", "h_2"}, Classes: []oracleClass{{"A", 57, 0}, {"B", 69, 0}}, Ops: []oracleOp{
			nd(143914, 1e9), next(stepsUntilDone)}},
		{Workers: []string{"h_1", "h_2"}, Classes: []oracleClass{{"A", 9, 0}, {"B", 11, 0}}, Ops: []oracleOp{
			nd(246151, 1e9), next(stepsUntilDone)}},
		// A zero weight, a single class, a huge rate.
		{Workers: []string{"w_1", "w_2", "v_1"}, Classes: []oracleClass{{"Z", 0, 0}, {"A", 2, 0}}, Ops: []oracleOp{
			nd(9, 1e9), next(stepsUntilDone), nd(0, 0.1), next(stepsUntilDone)}},
		// Rebalances in the middle of ramp-up and ramp-down steps, and a new
		// dispatch that abandons a ramp.
		{Workers: []string{"p_1", "q_1", "p_2"}, Classes: docCls, Ops: []oracleOp{
			nd(30, 3), next(3), add("q_2"), next(1), rm("p_1"), next(2), nd(2, 4), next(2), add("r_1"),
			next(stepsUntilDone), nd(25, 2.2), next(4), nd(0, 3), next(stepsUntilDone)}},
	}
	r := rand.New(rand.NewPCG(20260822, 47))
	for range 230 {
		cases = append(cases, randomCase(r))
	}
	return cases
}

const idChars = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomName(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idChars[r.IntN(len(idChars))]
	}
	return string(b)
}

func randomCase(r *rand.Rand) oracleCase {
	hosts := make([]string, 1+r.IntN(5))
	for i := range hosts {
		hosts[i] = "h" + randomName(r, 1+r.IntN(4))
	}
	var c oracleCase
	live := map[string]int{}
	newID := func() string {
		for {
			host := hosts[r.IntN(len(hosts))]
			var id string
			switch p := r.IntN(20); {
			case p == 0:
				id = host // no "_": its own host
			case p == 1:
				id = host + "_" + randomName(r, 2) + "_" + randomName(r, 2)
			default:
				id = host + "_" + randomName(r, 1+r.IntN(8))
			}
			if live[id] == 0 {
				return id
			}
		}
	}
	for range 1 + r.IntN(50) {
		id := newID()
		live[id]++
		c.Workers = append(c.Workers, id)
	}
	names := map[string]bool{}
	for range 1 + r.IntN(6) {
		name := strings.ToUpper(randomName(r, 1)) + randomName(r, r.IntN(5))
		if names[name] {
			continue
		}
		names[name] = true
		oc := oracleClass{Name: name, Weight: 1 + r.IntN(10)}
		if r.IntN(4) == 0 {
			oc.FixedCount = 1 + r.IntN(5)
		}
		c.Classes = append(c.Classes, oc)
	}

	workerEvent := func() oracleOp {
		ids := make([]string, 0, len(live))
		for id := range live {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		switch p := r.IntN(100); {
		case p < 3 && len(ids) > 0: // a worker added twice
			id := ids[r.IntN(len(ids))]
			live[id]++
			return oracleOp{Op: "add_worker", ID: id}
		case p < 5: // an unknown worker removed
			return oracleOp{Op: "remove_worker", ID: "gone_" + randomName(r, 3)}
		case p < 55 && (len(ids) > 1 || (len(ids) == 1 && p < 7)):
			id := ids[r.IntN(len(ids))]
			delete(live, id)
			return oracleOp{Op: "remove_worker", ID: id}
		default:
			id := newID()
			live[id]++
			return oracleOp{Op: "add_worker", ID: id}
		}
	}
	rate := func() float64 {
		switch r.IntN(6) {
		case 0:
			return float64(1 + r.IntN(20))
		case 1:
			return []float64{0.5, 2.5, 0.75, 1.5, 100}[r.IntN(5)]
		}
		v := math.Exp(math.Log(0.5) + r.Float64()*math.Log(200))
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'f', 1+r.IntN(3), 64), 64)
		return max(v, 0.5)
	}
	pick := func() []string {
		if r.IntN(5) != 0 {
			return nil
		}
		var sel []string
		for _, oc := range c.Classes {
			if r.IntN(2) == 0 {
				sel = append(sel, oc.Name)
			}
		}
		if sel == nil && r.IntN(4) != 0 {
			sel = []string{c.Classes[r.IntN(len(c.Classes))].Name}
		}
		r.Shuffle(len(sel), func(i, j int) { sel[i], sel[j] = sel[j], sel[i] })
		if sel == nil {
			sel = []string{}
		}
		return sel
	}

	// Up, down, up (and sometimes once more), with worker changes before the
	// first step, in the middle of ramps and after them. A quarter of the cases
	// stay small, where ramps stop in the middle of the fixed_count users.
	maxTarget := 500
	if r.IntN(4) == 0 {
		maxTarget = 15
	}
	target := 0
	for phase := range 3 + r.IntN(2) {
		switch {
		case phase%2 == 1:
			target = r.IntN(target + 1)
		default:
			target += r.IntN(maxTarget + 1 - target)
		}
		rt := rate()
		c.Ops = append(c.Ops, oracleOp{Op: "new_dispatch", Target: target, Rate: rt, Classes: pick()})
		if r.IntN(8) == 0 {
			c.Ops = append(c.Ops, workerEvent())
		}
		if r.IntN(2) == 0 {
			c.Ops = append(c.Ops, oracleOp{Op: "next", Steps: 1 + r.IntN(1+int(float64(target)/max(1, math.Floor(rt))))})
			for range 1 + r.IntN(2) {
				c.Ops = append(c.Ops, workerEvent())
			}
			if r.IntN(3) == 0 {
				c.Ops = append(c.Ops, oracleOp{Op: "next", Steps: 1 + r.IntN(5)}, workerEvent())
			}
		}
		if r.IntN(8) == 0 {
			continue // abandon this ramp for the next new_dispatch
		}
		c.Ops = append(c.Ops, oracleOp{Op: "next", Steps: stepsUntilDone})
		if r.IntN(3) == 0 {
			c.Ops = append(c.Ops, workerEvent(), oracleOp{Op: "next", Steps: stepsUntilDone})
		}
	}
	return c
}

// BenchmarkDispatch runs 5,000 workers and 100,000 users (4 classes, one of
// them fixed_count). "cycle": a ramp up in 100 steps of 1,000 users, a
// rebalance for an added worker, and a ramp down to zero (201 steps in all).
// "rebalance": with the 100,000 users running, one AddWorker and the dispatch
// that follows it, whose only step is the redistribution.
func BenchmarkDispatch(b *testing.B) {
	workers := make([]string, 5000)
	for i := range workers {
		workers[i] = fmt.Sprintf("host%02d_%d", i%50, i)
	}
	classes := []UserClass{{Name: "A", Weight: 5}, {Name: "B", Weight: 3}, {Name: "C", Weight: 1}, {Name: "F", FixedCount: 10}}
	drain := func(d *Dispatcher) int {
		n := 0
		for {
			if _, ok := d.Next(); !ok {
				return n
			}
			n++
		}
	}
	b.Run("cycle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := NewDispatcher(workers, classes)
			d.NewDispatch(100000, 1000, nil)
			steps := drain(d)
			d.AddWorker("host99_x")
			d.NewDispatch(0, 1000, nil)
			if steps += drain(d); steps != 201 {
				b.Fatalf("%d steps", steps)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(201*b.N), "ns/step")
	})
	b.Run("rebalance", func(b *testing.B) {
		d := NewDispatcher(workers, classes)
		d.NewDispatch(100000, 1e6, nil)
		drain(d)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			d.AddWorker(fmt.Sprintf("extra_%d", i))
			d.NewDispatch(100000, 1e6, nil)
			if n := drain(d); n != 1 {
				b.Fatalf("%d steps, want the rebalance only", n)
			}
		}
	})
}
