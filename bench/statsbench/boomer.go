package statsbench

import (
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/myzhan/boomer"
)

// boomerRec is a standalone Boomer (no master) with no users of its own:
// the benchmark's goroutines call Boomer.RecordSuccess, which sends each
// record over boomer's stats channel to its one stats goroutine. The totals
// come from what boomer reports every 3 s to its outputs.
type boomerRec struct {
	b       *boomer.Boomer
	out     *boomerOutput
	stopped chan struct{}
}

func newBoomer() (*boomerRec, error) {
	out := &boomerOutput{started: make(chan struct{}), totals: Totals{PerName: map[string]int64{}}}
	b := boomer.NewStandaloneBoomer(0, 1).WithLogger(log.New(io.Discard, "", 0))
	b.AddOutput(out)
	r := &boomerRec{b: b, out: out, stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		b.Run() // returns after Quit
	}()
	select {
	case <-out.started: // the runner and its stats goroutine exist
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("boomer: standalone runner did not start")
	}
	return r, nil
}

func (r *boomerRec) Handle(int) Handle { return boomerHandle{r.b} }

func (r *boomerRec) Close(want int64, timeout time.Duration) (Totals, error) {
	// boomer reports every 3 s and has no flush: wait for the reports.
	pollUntil(timeout, func() bool { return r.out.get().Requests >= want })
	r.b.Quit()
	select {
	case <-r.stopped:
	case <-time.After(10 * time.Second):
		return r.out.get(), fmt.Errorf("boomer: Run did not return after Quit")
	}
	r.out.mu.Lock()
	err := r.out.err
	r.out.mu.Unlock()
	return r.out.get(), err
}

type boomerHandle struct{ b *boomer.Boomer }

// Record converts the response time to boomer's int64 milliseconds.
func (h boomerHandle) Record(_ int, method, name string, rt time.Duration, length int64) {
	h.b.RecordSuccess(method, name, rt.Milliseconds(), length)
}

func (boomerHandle) Done() {}

// boomerOutput is a boomer.Output that sums the reports.
type boomerOutput struct {
	started chan struct{}
	once    sync.Once
	mu      sync.Mutex
	totals  Totals
	err     error
}

func (o *boomerOutput) OnStart() { o.once.Do(func() { close(o.started) }) }
func (o *boomerOutput) OnStop()  {}

func (o *boomerOutput) OnEvent(data map[string]interface{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	total, ok := data["stats_total"].(map[string]interface{})
	if !ok {
		o.err = fmt.Errorf("boomer: stats_total is %T", data["stats_total"])
		return
	}
	o.totals.Requests += asInt(total["num_requests"])
	o.totals.Content += asInt(total["total_content_length"])
	entries, _ := data["stats"].([]interface{})
	for _, e := range entries {
		m, ok := e.(map[string]interface{})
		if !ok {
			continue
		}
		method, _ := m["method"].(string)
		name, _ := m["name"].(string)
		o.totals.PerName[key(method, name)] += asInt(m["num_requests"])
	}
}

func (o *boomerOutput) get() Totals {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := Totals{Requests: o.totals.Requests, Content: o.totals.Content, PerName: make(map[string]int64, len(o.totals.PerName))}
	for k, v := range o.totals.PerName {
		t.PerName[k] = v
	}
	return t
}

func asInt(v interface{}) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}
