package app

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// --results-in-log: the master ends its log with the files it wrote, as a
// gzipped tar in base64 between two marker lines, so that the results of a
// finished Kubernetes Job, whose pod and volume a user cannot read with
// kubectl alone, come out of its log with one command:
//
//	kubectl logs job/glocust-master | awk '/^----- END GLOCUST RESULTS/{p=0} p; /^----- BEGIN GLOCUST RESULTS/{p=1}' | base64 -d | tar xz
//
// The archive holds one directory, glocust-results-<run id>.
const (
	resultsBegin = "----- BEGIN GLOCUST RESULTS"
	resultsEnd   = "----- END GLOCUST RESULTS -----"
	// maxLoggedResults bounds the archive (compressed, before base64): a
	// container runtime rotates a log at 10 MiB by default, and kubectl
	// logs shows only the last file.
	maxLoggedResults = 4 << 20
	// resultsLineLen is the base64 line length (MIME's 76).
	resultsLineLen = 76
)

// resultFiles lists the files this run's outputs wrote: --csv's (Locust's
// four and glocust's runs file, and the uncorrected stats with
// --latency-correction), --html, --json-file and --summary-json; those
// that do not exist are left out.
func (o *outputs) resultFiles() []string {
	var names []string
	if p := o.opts.CSVPrefix; p != "" {
		for _, s := range []string{"_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv", "_runs.csv", "_stats_uncorrected.csv"} {
			names = append(names, p+s)
		}
	}
	if o.opts.HTMLFile != "" {
		names = append(names, htmlFileName(o.opts))
	}
	if f := o.opts.JSONFile; f != "" {
		if !strings.HasSuffix(f, ".json") {
			f += ".json"
		}
		names = append(names, f)
	}
	if o.opts.SummaryJSON != "" {
		names = append(names, o.opts.SummaryJSON)
	}
	var out []string
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && st.Mode().IsRegular() {
			out = append(out, n)
		}
	}
	return out
}

// logResults writes files to w as --results-in-log's block, in one Write
// so that no other log line lands inside it; an archive over limit bytes
// (compressed) is an error and writes nothing.
func logResults(w io.Writer, runID string, files []string, limit int) error {
	dir := "glocust-results"
	if runID != "" {
		dir += "-" + runID
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := addFile(tw, dir, f); err != nil {
			return fmt.Errorf("--results-in-log: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("--results-in-log: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("--results-in-log: %w", err)
	}
	if gz.Len() > limit {
		return fmt.Errorf("--results-in-log: the results take %d bytes compressed, more than the %d a log can carry; "+
			"read them from where they were written", gz.Len(), limit)
	}
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s.tar.gz (%d files; extract: awk '/^----- END GLOCUST RESULTS/{p=0} p; /^----- BEGIN GLOCUST RESULTS/{p=1}' | base64 -d | tar xz) -----\n",
		resultsBegin, dir, len(files))
	for len(enc) > 0 {
		n := min(len(enc), resultsLineLen)
		b.WriteString(enc[:n])
		b.WriteByte('\n')
		enc = enc[n:]
	}
	b.WriteString(resultsEnd + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// addFile writes file f to tw as dir/<its base name>.
func addFile(tw *tar.Writer, dir, f string) error {
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	st, err := os.Stat(f)
	if err != nil {
		return err
	}
	h := &tar.Header{Name: dir + "/" + filepath.Base(f), Mode: 0o644, Size: int64(len(b)), ModTime: st.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = tw.Write(b)
	return err
}
