package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/glocust/glocust/stats"
)

// CSVFiles are the files of --csv PREFIX [--csv-full-history]:
// PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv,
// rewritten on every Write, and PREFIX_stats_history.csv, appended to,
// all in Locust's formats; and glocust's PREFIX_runs.csv (RunsCSV),
// rewritten by SetRun.
// Its methods are safe for concurrent use, but Write reads the Aggregate,
// so call it from the goroutine that owns the Aggregate.
type CSVFiles struct {
	mu          sync.Mutex
	prefix      string
	fullHistory bool
	stats       *os.File
	failures    *os.File
	exceptions  *os.File
	history     *os.File
	runsFile    *os.File
	runs        []RunRow
	closed      bool
}

// NewCSVFiles creates (truncating) the four files and writes their headers,
// as Locust does when its CSV writer starts.
func NewCSVFiles(prefix string, fullHistory bool) (*CSVFiles, error) {
	c := &CSVFiles{prefix: prefix, fullHistory: fullHistory}
	var err error
	open := func(suffix string) *os.File {
		if err != nil {
			return nil
		}
		var f *os.File
		f, err = os.Create(prefix + suffix)
		if err != nil {
			err = fmt.Errorf("report: csv: %w", err)
		}
		return f
	}
	c.stats = open("_stats.csv")
	c.history = open("_stats_history.csv")
	c.failures = open("_failures.csv")
	c.exceptions = open("_exceptions.csv")
	c.runsFile = open("_runs.csv")
	if err == nil {
		err = c.rewriteRuns()
	}
	if err == nil {
		var b bytes.Buffer
		err = HistoryCSVHeader(&b)
		if err == nil {
			_, err = c.history.Write(b.Bytes())
		}
		if err == nil {
			err = c.rewriteAll(stats.NewAggregate(time.Now()), nil)
		}
	}
	if err != nil {
		c.closeFiles()
		return nil, fmt.Errorf("report: csv: %w", err)
	}
	return c, nil
}

// Prefix returns the PREFIX the files were created with.
func (c *CSVFiles) Prefix() string { return c.prefix }

// HistoryPath returns the path of PREFIX_stats_history.csv (served by
// /stats/requests_full_history/csv with --csv-full-history).
func (c *CSVFiles) HistoryPath() string { return c.prefix + "_stats_history.csv" }

// FullHistory reports whether the files were created for --csv-full-history.
func (c *CSVFiles) FullHistory() bool { return c.fullHistory }

// Write rewrites the stats, failures and exceptions files from a and ex,
// and appends one sample (time now, userCount users) to the history file.
// Locust does this every second.
func (c *CSVFiles) Write(a *stats.Aggregate, ex *Exceptions, now time.Time, userCount int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("report: csv: write after close")
	}
	if err := c.rewriteAll(a, ex); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := HistoryCSVRows(&b, a, now, userCount, c.fullHistory); err != nil {
		return err
	}
	if _, err := c.history.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

func (c *CSVFiles) rewriteAll(a *stats.Aggregate, ex *Exceptions) error {
	var b bytes.Buffer
	if err := StatsCSV(&b, a); err != nil {
		return err
	}
	if err := rewrite(c.stats, b.Bytes()); err != nil {
		return err
	}
	b.Reset()
	if err := FailuresCSV(&b, a); err != nil {
		return err
	}
	if err := rewrite(c.failures, b.Bytes()); err != nil {
		return err
	}
	b.Reset()
	if err := ExceptionsCSV(&b, ex); err != nil {
		return err
	}
	return rewrite(c.exceptions, b.Bytes())
}

// SetRun adds run r to PREFIX_runs.csv, or updates the row of its id
// (its end, its profile), and rewrites the file.
func (c *CSVFiles) SetRun(r RunRow) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("report: csv: write after close")
	}
	i := len(c.runs)
	for j := range c.runs {
		if c.runs[j].ID == r.ID {
			i = j
		}
	}
	if i == len(c.runs) {
		c.runs = append(c.runs, r)
	} else if c.runs[i] == r {
		return nil
	}
	c.runs[i] = r
	return c.rewriteRuns()
}

func (c *CSVFiles) rewriteRuns() error {
	var b bytes.Buffer
	if err := RunsCSV(&b, c.runs); err != nil {
		return err
	}
	return rewrite(c.runsFile, b.Bytes())
}

// rewrite replaces f's content with p (written first, then truncated, so a
// reader never sees an empty file).
func rewrite(f *os.File, p []byte) error {
	if _, err := f.WriteAt(p, 0); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	if err := f.Truncate(int64(len(p))); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// Close closes the files. Further Writes fail; Close is idempotent.
func (c *CSVFiles) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.closeFiles()
}

func (c *CSVFiles) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{c.stats, c.history, c.failures, c.exceptions, c.runsFile} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}
