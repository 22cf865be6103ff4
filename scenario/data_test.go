package scenario

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeText writes a text file in dir and returns its path.
func writeText(t *testing.T, dir, name, content string) string {
	t.Helper()
	return writeFile(t, dir, name, []byte(content))
}

func rowValues(r Row) []string {
	var out []string
	for _, c := range r.set.cols {
		v, _ := r.Get(c)
		out = append(out, v)
	}
	return out
}

func TestLoadData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csvPath := writeText(t, dir, "u.csv", "\uFEFFuser, e-mail\nann,a@x\n\"bob, jr\",\"b\"\"x\"\n")
	d, err := LoadData("u", csvPath, "", DataUnique)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Columns(); !slices.Equal(got, []string{"user", "e-mail"}) {
		t.Errorf("columns = %q", got)
	}
	if d.Len() != 2 {
		t.Fatalf("rows = %d", d.Len())
	}
	if got := rowValues(Row{set: d, i: 1}); !slices.Equal(got, []string{"bob, jr", `b"x`}) {
		t.Errorf("row 1 = %q", got)
	}
	jl := writeText(t, dir, "u.jsonl", `{"user": "ann", "n": 1, "tags": ["a", "b"], "x": null}`+"\n\n"+`{"n": 2.5, "user": "b\u00e9", "tags": [], "x": true}`+"\n")
	d, err = LoadData("u", jl, "", DataCycle)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Columns(); !slices.Equal(got, []string{"user", "n", "tags", "x"}) {
		t.Errorf("columns = %q", got)
	}
	if got := rowValues(Row{set: d, i: 0}); !slices.Equal(got, []string{"ann", "1", `["a","b"]`, "null"}) {
		t.Errorf("row 0 = %q", got)
	}
	if got := rowValues(Row{set: d, i: 1}); !slices.Equal(got, []string{"bé", "2.5", "[]", "true"}) {
		t.Errorf("row 1 = %q", got)
	}
}

func TestLoadDataErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, format, want string }{
		{"a.csv", "", "", "a.csv: empty file (want a header row)"},
		{"b.csv", "x,y\n", "", "b.csv: no rows"},
		{"c.csv", "x,y\n1,2\n3\n", "", "c.csv:3: wrong number of fields"},
		{"d.csv", "x,x\n1,2\n", "", `d.csv:1: column "x" appears twice`},
		{"e.csv", "x,\n1,2\n", "", "e.csv:1: a column has no name"},
		{"f.csv", "x\n\"a\n", "", "f.csv:2: extraneous or missing \" in quoted-field"},
		{"g.txt", "x\n1\n", "", "g.txt: unknown data format (want a .csv, .jsonl or .ndjson file, or set format)"},
		{"h.jsonl", "{\"a\": 1}\n{\"b\": 1}\n", "", `h.jsonl:2: key "b" is not on the first line (a)`},
		{"i.jsonl", "{\"a\": 1}\n{\"a\": 1, \"b\": 2}\n", "", "i.jsonl:2: 2 keys, want the 1 of the first line (a)"},
		{"j.jsonl", "{\"a\": 1}\n[1]\n", "", "j.jsonl:2: want a JSON object"},
		{"k.jsonl", "{\"a\": 1} {\"a\": 2}\n", "", "k.jsonl:1: more than one JSON value on the line"},
		{"l.jsonl", "{\"a\": 1, \"a\": 2}\n", "", `l.jsonl:1: key "a" appears twice`},
		{"m.jsonl", "\n\n", "", "m.jsonl: no rows"},
		{"n.jsonl", "{}\n", "", "n.jsonl:1: no columns"},
		{"o.dat", "{\"a\": \"x\"\n", "jsonl", "o.dat:1: unexpected end of the line"},
	} {
		p := writeText(t, dir, tc.name, tc.content)
		_, err := LoadData("d", p, tc.format, DataUnique)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), dir) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadData("d", filepath.Join(dir, "none.csv"), "", DataUnique); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func numbered(t *testing.T, n int, mode DataMode) *DataSet {
	t.Helper()
	var rows [][]string
	for i := range n {
		rows = append(rows, []string{string(rune('a' + i))})
	}
	d, err := NewDataSet("d", mode, []string{"v"}, rows)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDataUniqueShares checks that workers' shares of unique data never
// overlap, that a row comes back when its user releases it, and that a
// worker runs out with a message that says why.
func TestDataUniqueShares(t *testing.T) {
	t.Parallel()
	d := numbered(t, 7, DataUnique)
	rnd := rand.New(rand.NewPCG(1, 1))
	lease := func(dp *dataPool) (int, error) {
		r, err := dp.lease(rnd)
		return r.Index(), err
	}
	w0 := newDataPool(d, Placement{Index: 0, Slot: 0, Count: 2})
	w1 := newDataPool(d, Placement{Index: 1, Slot: 1, Count: 2})
	var got0, got1 []int
	for range 4 {
		i, err := lease(w0)
		if err != nil {
			t.Fatal(err)
		}
		got0 = append(got0, i)
	}
	for range 3 {
		i, err := lease(w1)
		if err != nil {
			t.Fatal(err)
		}
		got1 = append(got1, i)
	}
	if !slices.Equal(got0, []int{0, 2, 4, 6}) || !slices.Equal(got1, []int{1, 3, 5}) {
		t.Fatalf("shares %v and %v, want [0 2 4 6] and [1 3 5]", got0, got1)
	}
	_, err := lease(w1)
	if want := "data d (unique): all 3 rows of this worker's share (slot 1 of 2) are held by running users"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("lease on a full share: %v, want %q", err, want)
	}
	w1.release(Row{set: d, i: 3})
	if i, err := lease(w1); err != nil || i != 3 {
		t.Fatalf("after a release: %d, %v, want row 3", i, err)
	}
	// A worker that replaced a departed one under a Locust master has an
	// index beyond the shares: it gets none.
	w2 := newDataPool(d, Placement{Index: 2, Slot: 2, Count: 2})
	if _, err := lease(w2); err == nil || !strings.Contains(err.Error(), "slot 2 is outside the 2 share(s)") {
		t.Fatalf("lease beyond the shares: %v", err)
	}
	// Under a glocust master it takes the departed worker's slot, and
	// with it the rows that worker no longer holds.
	w2.setPlacement(Placement{Index: 2, Slot: 1, Count: 2})
	if i, err := lease(w2); err != nil || i != 1 {
		t.Fatalf("the replacement's first row: %d, %v, want 1", i, err)
	}
	if _, err := lease(newDataPool(d, Placement{Index: -1, Slot: -1, Count: 1})); err == nil || !strings.Contains(err.Error(), "no share") {
		t.Fatalf("lease without an index: %v", err)
	}
}

// TestDataPlacementChange checks that rows held across a change of share
// stay held, and that a row of the old share is not given out again.
func TestDataPlacementChange(t *testing.T) {
	t.Parallel()
	d := numbered(t, 6, DataUnique)
	dp := newDataPool(d, Placement{Slot: 0, Count: 2})
	a, _ := dp.lease(nil) // row 0
	dp.setPlacement(Placement{Slot: 0, Count: 3})
	var got []int
	for {
		r, err := dp.lease(nil)
		if err != nil {
			break
		}
		got = append(got, r.Index())
	}
	if !slices.Equal(got, []int{3}) {
		t.Errorf("new share gave %v, want [3] (row 0 is still held)", got)
	}
	dp.release(a)
	if r, err := dp.lease(nil); err != nil || r.Index() != 0 {
		t.Errorf("row 0, back in the (new) share: %v, %v", r.Index(), err)
	}
	dp.setPlacement(Placement{Slot: 1, Count: 3})
	dp.release(Row{set: d, i: 0}) // of the old share: dropped
	r, err := dp.lease(nil)
	if err != nil || r.Index() != 1 {
		t.Errorf("after a change to slot 1: %v, %v, want row 1", r.Index(), err)
	}
	if r, err := dp.lease(nil); err != nil || r.Index() != 4 {
		t.Errorf("then %v, %v, want row 4 (not the released row 0)", r.Index(), err)
	}
}

func TestDataCycleAndRandom(t *testing.T) {
	t.Parallel()
	d := numbered(t, 5, DataCycle)
	dp := newDataPool(d, Placement{Slot: 1, Count: 2})
	var got []int
	for range 5 {
		r, _ := dp.lease(nil)
		got = append(got, r.Index())
	}
	if !slices.Equal(got, []int{1, 3, 1, 3, 1}) {
		t.Errorf("cycle over slot 1 of 2: %v", got)
	}
	// A slot beyond the shares cycles over slot mod count; one beyond the
	// rows over the whole file.
	dp = newDataPool(d, Placement{Slot: 3, Count: 2})
	if r, _ := dp.lease(nil); r.Index() != 1 {
		t.Errorf("slot 3 of 2 starts at %d, want 1", r.Index())
	}
	dp = newDataPool(numbered(t, 2, DataCycle), Placement{Slot: 4, Count: 5})
	got = nil
	for range 3 {
		r, _ := dp.lease(nil)
		got = append(got, r.Index())
	}
	if !slices.Equal(got, []int{0, 1, 0}) {
		t.Errorf("cycle with no share: %v, want the whole file", got)
	}
	dr := newDataPool(numbered(t, 3, DataRandom), Placement{Slot: 0, Count: 1})
	seen := map[int]bool{}
	rnd := rand.New(rand.NewPCG(3, 3))
	for range 100 {
		r, err := dr.lease(rnd)
		if err != nil {
			t.Fatal(err)
		}
		seen[r.Index()] = true
	}
	if len(seen) != 3 {
		t.Errorf("random gave rows %v of 3", seen)
	}
}
