// Package glocust is the glocust program as a library: Main runs it with
// Locust's flags, LOCUST_* variables and locust.conf, so people who
// register their own Go user classes (scenario.Register) can build a
// binary that behaves exactly like the stock one:
//
//	func main() {
//		scenario.Register(&scenario.Class{Name: "ApiUser", Tasks: ...})
//		os.Exit(glocust.Main(os.Args[1:]))
//	}
//
// The application itself (modes, outputs, the demo) lives in
// internal/app; this package is only its public entry.
package glocust

import (
	"os"

	"github.com/glocust/glocust/internal/app"
)

// Main runs glocust with command-line args (without the program name) and
// the process environment, and returns the exit code. "demo" as the first
// argument runs the self-contained demonstration (glocust demo -h), "check"
// checks a scenario and "locustfile" writes its Python locustfile.
func Main(args []string) int {
	return app.Main(args, os.Environ(), os.Stdout, os.Stderr)
}
