// Package webui holds the master's dashboard page: hand-written HTML, CSS
// and JavaScript (ES modules, no build step, no third-party code), embedded
// in the binary. master serves it (master/ui_page.go): index.html at the
// web base path with the page's settings put in, the other files under
// ui/.
//
// Every URL the page uses is relative to the page, so it works under
// --web-base-path and behind a reverse proxy that adds a prefix of its own.
// The page gets its live data from one Server-Sent Events stream
// (ui/events) and fetches the rest (logs, exceptions, ratios, a request
// name's history) when a tab shows them.
package webui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sort"
)

//go:embed index.html *.js *.css *.svg
var files embed.FS

// FS is the page's files.
var FS fs.FS = files

// Index is index.html, with the placeholders {{BOOT}} (the page's
// settings, JSON) and {{VERSION}} (Version, to refresh cached files).
var Index = mustRead("index.html")

// Version identifies this build's files (a hash of all of them).
var Version = version()

// ETags holds each file's entity tag (a hash of its content).
var ETags = etags()

func mustRead(name string) string {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func etags() map[string]string {
	out := map[string]string{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(files, e.Name())
		sum := sha256.Sum256(b)
		out[e.Name()] = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	return out
}

func version() string {
	tags := ETags
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + tags[n]))
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}
