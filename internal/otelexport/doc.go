// Package otelexport is glocust's --otel (Locust 2.47's flag, also
// LOCUST_ENABLE_OPENTELEMETRY): the master exports the run's metrics with
// the OpenTelemetry Go SDK's exporters, configured by the standard OTEL_*
// environment variables as Locust's setup_opentelemetry is.
//
// What is exported: a master.Snapshot, taken from the merged stats when an
// export is due (every OTEL_METRIC_EXPORT_INTERVAL, default 60 s, and once
// more when the run ends), as OpenTelemetry metric data: the latency
// histogram per name and method (locust.client.duration, Locust's name,
// over the buckets of the master's /metrics), requests and failures per
// name and method (glocust.requests, glocust.request.failures), users per
// class (locust.users.count, Locust's), the target user count and the
// workers by state. Counts are cumulative since the stats were last
// cleared; every run (master.Run) has its own resource, whose attributes
// are Locust's (service.name from OTEL_SERVICE_NAME, default "locust";
// service.version; host.name; filename; profile) plus glocust.run.id and
// glocust.run.start_time, over OTEL_RESOURCE_ATTRIBUTES.
//
// Which exporters: OTEL_METRICS_EXPORTER (comma-separated; default otlp):
// otlp over OTEL_EXPORTER_OTLP_METRICS_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL (grpc, Locust's default, or http/protobuf),
// whose endpoint, headers, TLS, compression and timeout the SDK's exporters
// read from OTEL_EXPORTER_OTLP_*; console (to stderr: stdout is --json's);
// none. "none" alone sends nothing. Unlike Locust, no traces or logs are
// exported (OTEL_TRACES_EXPORTER and OTEL_LOGS_EXPORTER are only noted).
//
// # Concurrency
//
// New and Run are called by one goroutine; Run owns the Exporter until it
// returns. The snapshot function it is given runs on Run's goroutine
// (master.Master.Snapshot is safe for that).
package otelexport
