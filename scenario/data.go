package scenario

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DataMode is how the users of a class take rows of a DataSet.
type DataMode uint8

const (
	// DataUnique gives each row to at most one live user in the whole
	// cluster. The rows are split in Placement.Count shares (row r is in
	// share r mod Count), a worker leases rows of its share
	// (Placement.Slot) to its users and takes a row back when its user
	// stops. A user that finds no free row does not start: the error is
	// reported as a user exception.
	DataUnique DataMode = iota
	// DataCycle gives the users of a worker the rows of its share in
	// order, starting again at its first row once all were given out (so
	// rows are unique while a worker's users fit in its share).
	DataCycle
	// DataRandom gives each user a row picked at random from all rows.
	DataRandom
)

var dataModes = []string{"unique", "cycle", "random"}

func (m DataMode) String() string {
	if int(m) < len(dataModes) {
		return dataModes[m]
	}
	return fmt.Sprintf("DataMode(%d)", int(m))
}

// DataSet is test data: rows of named columns, from a CSV file with a
// header row or a JSON-lines file (LoadData), or built in Go (NewDataSet).
// Each user of a class with a DataSet holds one row for its life
// (UserContext.Row; ${row.column} and ${column} in templates). A DataSet
// is read-only and may be shared by several classes: unique rows are then
// unique across them.
type DataSet struct {
	// Name names the data set in messages.
	Name string
	// Mode is how users take rows.
	Mode DataMode

	cols     []string
	colIndex map[string]int
	arena    []byte
	ends     []int // ends[i*len(cols)+j] ends cell j of row i in arena; the cell starts where the previous one ends
}

// NewDataSet builds a data set from rows of values in the order of
// columns.
func NewDataSet(name string, mode DataMode, columns []string, rows [][]string) (*DataSet, error) {
	d, err := newDataSet(name, mode, columns)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if len(r) != len(columns) {
			return nil, fmt.Errorf("scenario: data %s: row %d has %d values, want %d", name, i, len(r), len(columns))
		}
		d.add(r)
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("scenario: data %s: no rows", name)
	}
	return d, nil
}

func newDataSet(name string, mode DataMode, columns []string) (*DataSet, error) {
	if mode > DataRandom {
		return nil, fmt.Errorf("scenario: data %s: unknown mode %v", name, mode)
	}
	d := &DataSet{Name: name, Mode: mode, colIndex: make(map[string]int, len(columns))}
	for _, c := range columns {
		if c == "" {
			return nil, fmt.Errorf("scenario: data %s: a column has no name", name)
		}
		if _, dup := d.colIndex[c]; dup {
			return nil, fmt.Errorf("scenario: data %s: column %q appears twice", name, c)
		}
		d.colIndex[c] = len(d.cols)
		d.cols = append(d.cols, c)
	}
	if len(d.cols) == 0 {
		return nil, fmt.Errorf("scenario: data %s: no columns", name)
	}
	return d, nil
}

func (d *DataSet) add(row []string) {
	for _, v := range row {
		d.arena = append(d.arena, v...)
		d.ends = append(d.ends, len(d.arena))
	}
}

// Len returns the number of rows.
func (d *DataSet) Len() int { return len(d.ends) / len(d.cols) }

// Columns returns the column names, in file order.
func (d *DataSet) Columns() []string { return append([]string(nil), d.cols...) }

// cellBytes returns cell c of row r, shared (read-only).
func (d *DataSet) cellBytes(r, c int) []byte {
	k := r*len(d.cols) + c
	start := 0
	if k > 0 {
		start = d.ends[k-1]
	}
	return d.arena[start:d.ends[k]:d.ends[k]]
}

// LoadData reads a data file: CSV with a header row (".csv") or JSON lines
// (".jsonl", ".ndjson": one object per line, with the same keys on every
// line; the first line's order gives the columns; strings are taken as
// they are, other values as their JSON text). format "csv" or "jsonl"
// overrides the extension. Errors name the file and line.
func LoadData(name, path, format string, mode DataMode) (*DataSet, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			format = "csv"
		case ".jsonl", ".ndjson":
			format = "jsonl"
		default:
			return nil, fmt.Errorf("%s: unknown data format (want a .csv, .jsonl or .ndjson file, or set format)", path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	var d *DataSet
	switch format {
	case "csv":
		d, err = readCSV(name, path, mode, f)
	case "jsonl":
		d, err = readJSONLines(name, path, mode, f)
	default:
		return nil, fmt.Errorf("unknown data format %q (want csv or jsonl)", format)
	}
	if err != nil {
		return nil, err
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return d, nil
}

func readCSV(name, path string, mode DataMode, r io.Reader) (*DataSet, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file (want a header row)", path)
	}
	if err != nil {
		return nil, csvError(path, err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\uFEFF")
	}
	d, err := newDataSet(name, mode, trimAll(head))
	if err != nil {
		return nil, fmt.Errorf("%s:1: %s", path, strings.TrimPrefix(err.Error(), "scenario: data "+name+": "))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return nil, csvError(path, err)
		}
		d.add(rec)
	}
}

func trimAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

// csvError names the file and line of a CSV error.
func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", path, pe.StartLine, pe.Err)
	}
	return fmt.Errorf("%s: %v", path, err)
}

// errLineEnd is a JSON line that ends within its object.
var errLineEnd = errors.New("unexpected end of the line")

func readJSONLines(name, path string, mode DataMode, r io.Reader) (*DataSet, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var d *DataSet
	var row []string
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		keys, vals, err := jsonObjectLine(b)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errLineEnd
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if d == nil {
			if d, err = newDataSet(name, mode, keys); err != nil {
				return nil, fmt.Errorf("%s:%d: %s", path, line, strings.TrimPrefix(err.Error(), "scenario: data "+name+": "))
			}
			row = make([]string, len(keys))
		}
		if len(keys) != len(d.cols) {
			return nil, fmt.Errorf("%s:%d: %d keys, want the %d of the first line (%s)", path, line, len(keys), len(d.cols), strings.Join(d.cols, ", "))
		}
		for i, k := range keys {
			c, ok := d.colIndex[k]
			if !ok {
				return nil, fmt.Errorf("%s:%d: key %q is not on the first line (%s)", path, line, k, strings.Join(d.cols, ", "))
			}
			row[c] = vals[i]
		}
		d.add(row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if d == nil {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return d, nil
}

// jsonObjectLine reads one JSON object: its keys in order and their
// values (strings as they are, others as compact JSON text).
func jsonObjectLine(b []byte) (keys, vals []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("want a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k := t.(string) // object keys are strings
		if seen[k] {
			return nil, nil, fmt.Errorf("key %q appears twice", k)
		}
		seen[k] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		var s string
		if raw[0] == '"' {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, nil, err
			}
		} else {
			var c bytes.Buffer
			if err := json.Compact(&c, raw); err != nil {
				return nil, nil, err
			}
			s = c.String()
		}
		keys, vals = append(keys, k), append(vals, s)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("more than one JSON value on the line")
	}
	return keys, vals, nil
}

// Row is one row of a user's DataSet.
type Row struct {
	set *DataSet
	i   int
}

// Valid reports whether the row exists (a user of a class without data
// has none).
func (r Row) Valid() bool { return r.set != nil }

// Index returns the row's 0-based index in its data set (-1 if not valid).
func (r Row) Index() int {
	if r.set == nil {
		return -1
	}
	return r.i
}

// Get returns the value of column col.
func (r Row) Get(col string) (string, bool) {
	if r.set == nil {
		return "", false
	}
	c, ok := r.set.colIndex[col]
	if !ok {
		return "", false
	}
	return string(r.cell(c)), true
}

func (r Row) cell(c int) []byte { return r.set.cellBytes(r.i, c) }
