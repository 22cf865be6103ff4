package otelexport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/glocust/glocust/master"
)

// Defaults of the OpenTelemetry SDK environment variables this package
// reads itself.
const (
	DefaultInterval = 60 * time.Second // OTEL_METRIC_EXPORT_INTERVAL
	DefaultTimeout  = 30 * time.Second // OTEL_METRIC_EXPORT_TIMEOUT
	// DefaultProtocol is Locust's default OTLP protocol (the SDK
	// specification's is http/protobuf).
	DefaultProtocol = "grpc"
	// DefaultServiceName is Locust's service.name.
	DefaultServiceName = "locust"
	// finalTimeout bounds the last export, which runs while the process
	// ends (a pod's grace period is short).
	finalTimeout = 10 * time.Second
)

// Resource attribute keys beside the standard ones: Locust's (filename,
// profile) and the run's identity (master.Run).
const (
	KeyFilename     = "filename"
	KeyProfile      = "profile"
	KeyRunID        = "glocust.run.id"
	KeyRunStartTime = "glocust.run.start_time"
)

// Config configures an Exporter.
type Config struct {
	// Getenv looks up the OTEL_* variables this package reads itself
	// (nil: os.Getenv). The OTLP exporters read OTEL_EXPORTER_OTLP_* from
	// the process environment.
	Getenv func(string) string
	// Version is glocust's version (service.version).
	Version string
	// Locustfile is the scenario file (Locust's filename attribute).
	Locustfile string
	// Console receives the console exporter's output (nil: os.Stderr;
	// stdout is --json's).
	Console io.Writer
	// Logger receives the package's messages (nil: discarded).
	Logger *slog.Logger
}

// Exporter sends a master's Snapshot over the configured exporters,
// periodically and once more when it stops.
type Exporter struct {
	exporters         []sdkmetric.Exporter
	names             []string
	interval, timeout time.Duration
	base              []attribute.KeyValue // the resource but the run's keys
	log               *slog.Logger
	lastErr           time.Time // when an export failure was last logged
}

// New returns the exporter the environment configures, or nil (and no
// error) when OTEL_METRICS_EXPORTER selects none: then nothing is sent.
// An exporter it cannot make is logged and left out, as Locust does.
func New(ctx context.Context, cfg Config) (*Exporter, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	console := cfg.Console
	if console == nil {
		console = os.Stderr
	}
	e := &Exporter{log: log, interval: envMillis(getenv, "OTEL_METRIC_EXPORT_INTERVAL", DefaultInterval, log),
		timeout: envMillis(getenv, "OTEL_METRIC_EXPORT_TIMEOUT", DefaultTimeout, log)}
	for _, name := range exporterNames(getenv("OTEL_METRICS_EXPORTER")) {
		x, label, err := newExporter(ctx, name, getenv, console, log)
		if err != nil {
			return nil, errors.Join(err, e.shutdown(ctx))
		}
		if x != nil {
			e.exporters, e.names = append(e.exporters, x), append(e.names, label)
		}
	}
	for _, kind := range []string{"OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER"} {
		if v := exporterNames(getenv(kind)); len(v) > 0 && !(len(v) == 1 && v[0] == "none") && getenv(kind) != "" {
			log.Info(fmt.Sprintf("%s=%s: glocust exports metrics only, no traces or logs", kind, getenv(kind)))
		}
	}
	if len(e.exporters) == 0 {
		log.Info("No OpenTelemetry metrics exporter configured (OTEL_METRICS_EXPORTER), opentelemetry not enabled")
		return nil, nil
	}
	host, _ := os.Hostname()
	e.base = append(resourceFromEnv(getenv("OTEL_RESOURCE_ATTRIBUTES"), log),
		attribute.String("service.name", cmp.Or(getenv("OTEL_SERVICE_NAME"), DefaultServiceName)),
		attribute.String("service.version", cfg.Version), attribute.String("host.name", host),
		attribute.String(KeyFilename, cfg.Locustfile))
	log.Debug("OpenTelemetry configured", "exporters", strings.Join(e.names, ","), "interval", e.interval)
	return e, nil
}

// Exporters names the exporters in use ("otlp/grpc", "otlp/http/protobuf",
// "console").
func (e *Exporter) Exporters() []string { return e.names }

// Source gives one export's data: the resource attributes to add to the
// process's (the run's identity) and the metrics.
type Source func() ([]attribute.KeyValue, []metricdata.Metrics)

// MasterSource exports a master's run (Master.Snapshot).
func MasterSource(snap func() master.Snapshot) Source {
	return func() ([]attribute.KeyValue, []metricdata.Metrics) {
		s := snap()
		return runAttributes(s.Run), metrics(s)
	}
}

// Run exports src() every interval until ctx ends, then exports once more
// (cancel ctx only once src holds the last numbers: for a master, when its
// loop ended) and shuts the exporters down.
func (e *Exporter) Run(ctx context.Context, src Source) {
	t := time.NewTicker(e.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.export(ctx, src, e.timeout)
		case <-ctx.Done():
			final := context.WithoutCancel(ctx)
			e.export(final, src, min(e.timeout, finalTimeout))
			if err := e.shutdown(final); err != nil {
				e.log.Warn("OpenTelemetry: shutting the exporters down: " + err.Error())
			}
			return
		}
	}
}

func (e *Exporter) export(ctx context.Context, src Source, timeout time.Duration) {
	attrs, ms := src()
	// A later key wins: the source's over the process's, which are over
	// OTEL_RESOURCE_ATTRIBUTES.
	res := resource.NewSchemaless(append(e.base[:len(e.base):len(e.base)], attrs...)...)
	rm := &metricdata.ResourceMetrics{Resource: res, ScopeMetrics: []metricdata.ScopeMetrics{{Scope: Scope, Metrics: ms}}}
	for i, x := range e.exporters {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := x.Export(cctx, rm)
		cancel()
		if err != nil && time.Since(e.lastErr) >= time.Minute {
			e.lastErr = time.Now()
			e.log.Warn(fmt.Sprintf("OpenTelemetry: exporting metrics (%s): %v", e.names[i], err))
		}
	}
}

func (e *Exporter) shutdown(ctx context.Context) error {
	var errs []error
	for _, x := range e.exporters {
		cctx, cancel := context.WithTimeout(ctx, finalTimeout)
		errs = append(errs, x.Shutdown(cctx))
		cancel()
	}
	return errors.Join(errs...)
}

// runAttributes are the run's resource attributes: Locust's profile, and
// the run's id and start once a run started.
func runAttributes(r master.Run) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String(KeyProfile, r.Profile)}
	if r.ID != "" {
		attrs = append(attrs, attribute.String(KeyRunID, r.ID), attribute.String(KeyRunStartTime, r.Start.UTC().Format(time.RFC3339Nano)))
	}
	return attrs
}

// exporterNames splits OTEL_*_EXPORTER as Locust does: comma-separated,
// trimmed, lower case; unset is "otlp".
func exporterNames(v string) []string {
	if strings.TrimSpace(v) == "" {
		v = "otlp"
	}
	var out []string
	for n := range strings.SplitSeq(v, ",") {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// newExporter makes the exporter name selects (Locust's
// _setup_meter_provider) and its label ("otlp/grpc"), or nil for none.
func newExporter(ctx context.Context, name string, getenv func(string) string, console io.Writer, log *slog.Logger) (sdkmetric.Exporter, string, error) {
	switch name {
	case "otlp":
		protocol := strings.ToLower(strings.TrimSpace(cmp.Or(getenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), DefaultProtocol)))
		switch protocol {
		case "grpc":
			x, err := otlpmetricgrpc.New(ctx)
			return x, "otlp/grpc", wrap("otlp/grpc", err)
		case "http/protobuf", "http":
			x, err := otlpmetrichttp.New(ctx)
			return x, "otlp/http/protobuf", wrap("otlp/http", err)
		}
		log.Warn(fmt.Sprintf("Unknown OpenTelemetry otlp exporter protocol '%s'. Use 'grpc' or 'http/protobuf'", protocol))
	case "console":
		x, err := stdoutmetric.New(stdoutmetric.WithWriter(console))
		return x, "console", wrap("console", err)
	case "prometheus":
		log.Warn("Prometheus metrics exporter is not yet implemented! The master serves Prometheus on /metrics")
	case "none":
	default:
		log.Warn(fmt.Sprintf("Unknown metrics exporter '%s'. Ignored", name))
	}
	return nil, "", nil
}

func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("otelexport: %s exporter: %w", what, err)
	}
	return nil
}

// envMillis reads a duration in milliseconds (the SDK's OTEL_METRIC_EXPORT_*
// format); a bad or non-positive value is logged and the default used.
func envMillis(getenv func(string) string, key string, def time.Duration, log *slog.Logger) time.Duration {
	v := strings.TrimSpace(getenv(key))
	if v == "" {
		return def
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		log.Warn(fmt.Sprintf("%s=%q is not a positive number of milliseconds; using %v", key, v, def))
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

// resourceFromEnv parses OTEL_RESOURCE_ATTRIBUTES: key=value pairs,
// comma-separated, values percent-encoded (the SDK specification). A
// malformed pair is logged and skipped.
func resourceFromEnv(v string, log *slog.Logger) []attribute.KeyValue {
	var out []attribute.KeyValue
	for pair := range strings.SplitSeq(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if !ok || k == "" || err != nil {
			log.Warn(fmt.Sprintf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value; ignored", pair))
			continue
		}
		out = append(out, attribute.String(k, dec))
	}
	return out
}

// Scope is the instrumentation scope of the exported metrics.
var Scope = instrumentation.Scope{Name: "github.com/glocust/glocust/master"}

// Metrics is s as OpenTelemetry metric data: cumulative counts since
// s.StatsStart.
func Metrics(s master.Snapshot) []metricdata.Metrics { return metrics(s) }
