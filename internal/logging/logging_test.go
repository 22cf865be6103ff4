package logging

import (
	"bytes"
	"log/slog"
	"regexp"
	"testing"
)

func TestLocustFormat(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	l := New(&b, slog.LevelInfo, "glocust.worker")
	l.Debug("hidden")
	l.With("node_id", "h_1").Warn("master silent", "silence", "9s", "err", "a b")
	want := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] \S+/WARNING/glocust\.worker: master silent node_id=h_1 silence=9s err="a b"\n$`)
	if !want.Match(b.Bytes()) {
		t.Fatalf("log line %q", b.String())
	}
	for in, lvl := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warning": slog.LevelWarn, "CRITICAL": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != lvl {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("LOUD"); err == nil {
		t.Error("ParseLevel accepted LOUD")
	}
}
