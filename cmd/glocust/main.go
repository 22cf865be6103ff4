// Command glocust is a Locust-compatible load generator: a worker, a master
// or a standalone runner, with Locust's flags and LOCUST_* variables.
// "glocust demo" runs a self-contained demonstration; "glocust check" checks a
// scenario, "glocust locustfile" writes the Python locustfile of its classes
// and "glocust debug" runs a scenario's users once and prints every request.
package main

import (
	"os"

	"github.com/glocust/glocust"
)

func main() {
	os.Exit(glocust.Main(os.Args[1:]))
}
