package main

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestBinaryEndpointHistograms: a master and two workers (processes) run
// a test of four names to its end (-t, with the web UI left up). Then each
// name's latency histogram on /metrics counts exactly the requests of its
// row in Locust's requests CSV (/stats/requests/csv), its sum is the row's
// average times its count, the histogram of all requests matches the
// Aggregated row, and the slow name's requests sit above 100 ms while the
// fast names' do not all.
func TestBinaryEndpointHistograms(t *testing.T) {
	t.Parallel()
	c := startCluster(t, []string{"--autostart", "-u", "4", "-r", "10", "-t", "3s"}, nil, nil)
	if err := c.master.WaitOutput("--autoquit not specified", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	csvBody, err := c.get("/stats/requests/csv")
	if err != nil {
		t.Fatal(err)
	}
	metricsBody, err := c.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(csvBody)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("requests CSV: %v\n%s", err, csvBody)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(metricsBody))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[[2]string]*dto.Histogram{}
	for _, m := range fams["glocust_endpoint_request_duration_seconds"].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		byName[[2]string{l["method"], l["name"]}] = m.GetHistogram()
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	seen := 0
	for _, r := range rows[1:] {
		count, _ := strconv.ParseUint(r[col["Request Count"]], 10, 64)
		avg, _ := strconv.ParseFloat(r[col["Average Response Time"]], 64)
		var h *dto.Histogram
		if r[col["Name"]] == "Aggregated" {
			h = fams["glocust_request_duration_seconds"].GetMetric()[0].GetHistogram()
		} else {
			h = byName[[2]string{r[col["Type"]], r[col["Name"]]}]
			seen++
		}
		if h == nil {
			t.Errorf("no histogram for %s %s", r[col["Type"]], r[col["Name"]])
			continue
		}
		if count == 0 || h.GetSampleCount() != count {
			t.Errorf("%s %s: histogram count %d, CSV Request Count %d", r[col["Type"]], r[col["Name"]], h.GetSampleCount(), count)
		}
		if want := avg * float64(count) / 1000; math.Abs(h.GetSampleSum()-want) > 1e-6*want+1e-9 {
			t.Errorf("%s %s: histogram sum %g s, CSV average × count %g s", r[col["Type"]], r[col["Name"]], h.GetSampleSum(), want)
		}
	}
	if seen != 4 || len(byName) != 4 {
		t.Fatalf("%d names in the CSV, %d histograms; want 4 of each", seen, len(byName))
	}
	under100 := func(name string) uint64 {
		for _, b := range byName[[2]string{"GET", name}].GetBucket() {
			if b.GetUpperBound() == 0.1 {
				return b.GetCumulativeCount()
			}
		}
		t.Fatalf("%s: no bucket le=0.1", name)
		return 0
	}
	if n := under100("slow"); n != 0 {
		t.Errorf("%d requests of /slow?ms=%d at or below 100 ms", n, slowMs)
	}
	if n := under100("home"); n == 0 {
		t.Error("no request of / at or below 100 ms")
	}
	if err := c.stop(1); err != nil { // requests failed: --exit-code-on-error
		t.Fatal(err)
	}
}
