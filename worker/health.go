package worker

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// healthShutdown bounds how long ServeHealth's stop waits for requests in
// flight before it closes their connections.
const healthShutdown = 2 * time.Second

// Health is the document the probes answer (JSON).
type Health struct {
	NodeID     string `json:"node_id"`
	State      string `json:"state"` // "ready", "spawning" or "running"
	Registered bool   `json:"registered"`
	Index      int64  `json:"index"` // from the master's ack; -1 before
	UserCount  int64  `json:"user_count"`
	Goroutines int    `json:"goroutines"` // the process's (runtime.NumGoroutine), to watch for leaks
}

// Health returns the worker's current health document.
func (w *Worker) Health() Health {
	return Health{NodeID: w.NodeID(), State: w.State(), Registered: w.Registered(),
		Index: w.Index(), UserCount: w.users.UserCount(), Goroutines: runtime.NumGoroutine()}
}

// HealthHandler returns the handler of the worker's probes, glocust's
// addition for Kubernetes (Locust's workers serve no HTTP):
//
//	GET /healthz  200 while the process serves it (liveness)
//	GET /readyz   200 once the master acknowledged the worker, else 503
//
// Both answer the Health document. It is safe to serve while Run runs, and
// before or after.
func (w *Worker) HealthHandler() http.Handler {
	doc := func(rw http.ResponseWriter, ok bool) {
		rw.Header().Set("Content-Type", "application/json")
		h := w.Health()
		if !ok {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(rw).Encode(h)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { doc(rw, true) })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) { doc(rw, w.Registered()) })
	return mux
}

// ServeHealth serves HealthHandler on ln in a goroutine of its own. The
// returned stop closes ln, lets requests in flight finish (at most 2 s,
// then closes their connections) and returns once that goroutine ended;
// calling it again does nothing.
func (w *Worker) ServeHealth(ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: w.HealthHandler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // http.ErrServerClosed once stopped
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), healthShutdown)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				_ = srv.Close()
			}
			<-done
		})
	}
}
