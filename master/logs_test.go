package master

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// TestLogsEndpoint: a worker's "logs" message shows under its id on /logs
// and a later message replaces it. A sender not (yet) registered is kept
// too: a Locust worker sends its start-up lines before its ack.
func TestLogsEndpoint(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startLive(t, tk, false)
		w := lm.worker(t, "w1")
		w.send(&protocol.ClientReady{Version: "2.47.0"})
		w.expect("ack")
		w.send(&protocol.Logs{WorkerID: "w1", Logs: []string{"a", "b"}})
		w.send(&protocol.Logs{WorkerID: "w1", Logs: []string{"a", "b", "c"}})
		early := lm.worker(t, "early")
		early.send(&protocol.Logs{WorkerID: "early", Logs: []string{"x"}})

		var got struct {
			Master  []string            `json:"master"`
			Workers map[string][]string `json:"workers"`
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, body := get(t, lm.srv.URL+"/logs")
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("/logs: %v: %s", err, body)
			}
			if (slices.Equal(got.Workers["w1"], []string{"a", "b", "c"}) && len(got.Workers["early"]) == 1) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !slices.Equal(got.Workers["w1"], []string{"a", "b", "c"}) || got.Master == nil {
			t.Fatalf("/logs = %+v", got)
		}
		if !slices.Equal(got.Workers["early"], []string{"x"}) || len(got.Workers) != 2 {
			t.Fatalf("workers' logs = %+v", got.Workers)
		}
	})
}

func TestWorkerLogsBounds(t *testing.T) {
	t.Parallel()
	var wl workerLogs
	long := make([]string, maxLogLines+10)
	for i := range long {
		long[i] = fmt.Sprint(i)
	}
	wl.put("a", long)
	if l := wl.all()["a"]; len(l) != maxLogLines || l[0] != "10" {
		t.Fatalf("kept %d lines starting %q", len(l), l[0])
	}
	big := []string{strings.Repeat("x", maxLogBytes), "last"}
	wl.put("b", big)
	if l := wl.all()["b"]; !slices.Equal(l, []string{"last"}) {
		t.Fatalf("a %d-byte buffer kept %d lines", maxLogBytes+4, len(l))
	}
	for i := range maxLogWorkers + 5 {
		wl.put(fmt.Sprint("w", i), []string{"x"})
	}
	all := wl.all()
	if len(all) != maxLogWorkers {
		t.Fatalf("%d workers kept", len(all))
	}
	if _, ok := all["a"]; ok {
		t.Fatal("the oldest worker's logs were not evicted first")
	}
}
