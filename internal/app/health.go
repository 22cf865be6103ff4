package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/scenario"
	"github.com/glocust/glocust/worker"
)

// serveWorkerHealth serves a worker's probes on --web-host/--web-port when
// --web-port is given (Locust's workers serve nothing; this is glocust's
// addition for Kubernetes probes):
//
//	GET /healthz  200 while the worker process runs its loop (liveness)
//	GET /readyz   200 once the master acknowledged the worker, else 503
//
// Both answer a small JSON document. The returned func stops the server.
func serveWorkerHealth(opts *config.Options, w *worker.Worker, users *scenario.Runner, log *slog.Logger) (func(), error) {
	host := opts.WebHost
	if host == "*" {
		host = ""
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(opts.WebPort)))
	if err != nil {
		return nil, fmt.Errorf("worker health endpoint: %w", err)
	}
	doc := func(rw http.ResponseWriter, ok bool) {
		rw.Header().Set("Content-Type", "application/json")
		if !ok {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(rw).Encode(map[string]any{
			"node_id": w.NodeID(), "state": w.State(), "registered": w.Registered(),
			"index": w.Index(), "user_count": users.UserCount(),
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) { doc(rw, true) })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, r *http.Request) { doc(rw, w.Registered()) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("worker health endpoint", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
