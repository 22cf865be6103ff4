package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/otelexport"
)

// newOTel makes the master's OpenTelemetry exporter for --otel, or nil
// without --otel or when OTEL_METRICS_EXPORTER selects none. The console
// exporter writes to stderr (stdout is --json's).
func newOTel(opts *config.Options, env []string, log *slog.Logger, stderr io.Writer) (*otelexport.Exporter, error) {
	if !opts.OTel {
		return nil, nil
	}
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return otelexport.New(context.Background(), otelexport.Config{
		Getenv: func(k string) string { return vars[k] }, Version: config.Version,
		Locustfile: filepath.Base(opts.Locustfile), Console: stderr, Logger: log})
}

// runOTel runs exp over src on a goroutine of its own; the returned
// function (idempotent) makes the last export and waits for it. For a
// master, call it once the master's loop has ended, so that the last
// export holds the run's final stats.
func runOTel(exp *otelexport.Exporter, src otelexport.Source) func() {
	if exp == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); exp.Run(ctx, src) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}
