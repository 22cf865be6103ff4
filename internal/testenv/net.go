package testenv

import (
	"encoding/csv"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitHTTP polls url with GET until any HTTP response arrives or timeout passes.
func WaitHTTP(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("testenv: %s not up within %v: %w", url, timeout, lastErr)
}

// ReadCSV reads a CSV file with a header row and returns the other rows as
// maps from column name to value.
func ReadCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("testenv: read %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("testenv: %s is empty (no header)", path)
	}
	header := recs[0]
	rows := make([]map[string]string, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		if len(rec) != len(header) {
			return nil, fmt.Errorf("testenv: %s row %d has %d fields, header has %d", path, i+2, len(rec), len(header))
		}
		row := make(map[string]string, len(header))
		for j, h := range header {
			row[h] = rec[j]
		}
		rows = append(rows, row)
	}
	return rows, nil
}
