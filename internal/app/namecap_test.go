package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/protocol/zmq"
	"github.com/glocust/glocust/scenario"
	"github.com/glocust/glocust/stats"
)

// itemClass is a user class whose users request /item/<n> without a name,
// for n = 0, 1, ... total-1 (shared by all users), then idle until stopped.
func itemClass(total int64, next *atomic.Int64) *scenario.Class {
	return &scenario.Class{Name: "ItemUser", Tasks: []scenario.Task{{Name: "item",
		Fn: func(ctx context.Context, u *scenario.UserContext) error {
			n := next.Add(1) - 1
			if n >= total {
				<-ctx.Done()
				return nil
			}
			u.HTTP.Get(ctx, fmt.Sprintf("/item/%d", n), "")
			return nil
		}}}}
}

// TestNameCapMasterAndWorker: a glocust master and worker over ZeroMQ on
// 127.0.0.1, whose users request /item/<n> for 3,000 values of n without
// a name. The worker keeps 300 names, the master 200 (it folds what the
// worker kept beyond them into the same overflow entry); each logs one
// warning, and the totals equal what the target served.
func TestNameCapMasterAndWorker(t *testing.T) {
	t.Parallel()
	const total, workerCap, masterCap = 3000, 300, 200
	var served, failed atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if strings.HasSuffix(r.URL.Path, "7") {
			failed.Add(1)
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer target.Close()
	var next atomic.Int64
	class := itemClass(total, &next)
	if err := class.Validate(); err != nil {
		t.Fatal(err)
	}
	classes := []*scenario.Class{class}
	mopts, err := config.Parse([]string{"--master", "--max-request-names", strconv.Itoa(masterCap)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wopts, err := config.Parse([]string{"--worker", "--max-request-names", strconv.Itoa(workerCap)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mlog, wlog lockedBuffer

	router, err := zmq.ListenRouter("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()
	m := master.New(router, masterConfig(mopts, classes, target.URL, slog.New(slog.NewTextHandler(&mlog, nil))))
	masterDone := make(chan error, 1)
	go func() { masterDone <- m.Run(context.Background()) }()
	defer func() { m.Quit(); <-masterDone }()

	_, port, _ := net.SplitHostPort(router.Addr())
	p, _ := strconv.Atoi(port)
	setup := workerSetup{opts: wopts, classes: classes, host: target.URL, log: slog.New(slog.NewTextHandler(&wlog, nil))}
	runner, w := setup.newWorker("127.0.0.1", p)
	defer runner.Close()
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(wctx) }()
	defer func() { stopWorker(); <-workerDone }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.WaitForWorkers(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(4, 100); err != nil {
		t.Fatal(err)
	}
	var counted int64
	if err := waitFor(ctx, func() bool {
		m.Do(func(v *master.View) { counted = v.Stats().Total().NumRequests })
		return counted == total && served.Load() == total
	}); err != nil {
		t.Fatalf("%v: the master counted %d requests, the target served %d, want %d", err, counted, served.Load(), total)
	}

	m.Do(func(v *master.View) {
		agg := v.Stats()
		var named, overflow int
		var reqs, fails int64
		for _, e := range agg.Entries() {
			if e.Name == stats.OverflowName && e.Method == "GET" {
				overflow++
			} else {
				named++
			}
			reqs += e.NumRequests
			fails += e.NumFailures
		}
		if named != masterCap || overflow != 1 {
			t.Errorf("%d named entries and %d overflow entries, want %d and 1", named, overflow, masterCap)
		}
		if reqs != total || fails != failed.Load() || agg.Total().NumFailures != fails {
			t.Errorf("entries sum to %d requests and %d failures (aggregated: %d), want %d and %d",
				reqs, fails, agg.Total().NumFailures, total, failed.Load())
		}
		var occ int64
		for _, e := range agg.Errors() {
			occ += e.Occurrences
		}
		if occ != failed.Load() {
			t.Errorf("errors: %d occurrences, want %d", occ, failed.Load())
		}
	})
	for _, c := range []struct {
		side, log, want string
	}{
		{"worker", wlog.String(), fmt.Sprintf("More than %d distinct request names", workerCap)},
		{"master", mlog.String(), fmt.Sprintf("More than %d distinct request names", masterCap)},
	} {
		if got := strings.Count(c.log, "distinct request names"); got != 1 || !strings.Contains(c.log, c.want) ||
			!strings.Contains(c.log, "look like GET /item/[id]") {
			t.Errorf("%s: %d warnings, want 1: %q naming GET /item/[id]:\n%s", c.side, got, c.want, c.log)
		}
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return errors.New("timed out")
		case <-tick.C:
		}
	}
	return nil
}
