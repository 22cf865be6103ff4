// Package logging formats glocust's logs like Locust's:
//
//	[2026-11-27 01:02:03,456] host/INFO/glocust.worker: message key=value
//
// so that log-based tooling written for Locust keeps working. Handlers are
// safe for concurrent use.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// ParseLevel maps Locust's level names (DEBUG, INFO, WARNING, ERROR,
// CRITICAL; any case) to slog levels.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(s) {
	case "", "INFO":
		return slog.LevelInfo, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "WARNING", "WARN":
		return slog.LevelWarn, nil
	case "ERROR", "CRITICAL":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: unknown level %q (want DEBUG, INFO, WARNING, ERROR or CRITICAL)", s)
}

// New returns a logger writing Locust-style lines to w.
func New(w io.Writer, level slog.Level, name string) *slog.Logger {
	host, _ := os.Hostname()
	return slog.New(&handler{mu: &sync.Mutex{}, w: w, level: level, host: host, name: name})
}

type handler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	host  string
	name  string
	attrs string
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s,%03d] %s/%s/%s: %s", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6,
		h.host, levelName(r.Level), h.name, r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func writeAttr(b *strings.Builder, a slog.Attr) {
	v := a.Value.Resolve().String()
	if strings.ContainsAny(v, " \t\n\"=") || v == "" {
		v = fmt.Sprintf("%q", v)
	}
	b.WriteByte(' ')
	b.WriteString(a.Key)
	b.WriteByte('=')
	b.WriteString(v)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		writeAttr(&b, a)
	}
	n := *h
	n.attrs = b.String()
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	n := *h
	n.name = h.name + "." + name
	return &n
}
