// Command glocust is a Locust-compatible load generator: a worker, a master
// or a standalone runner, with Locust's flags and LOCUST_* variables.
// "glocust demo" runs a self-contained demonstration.
package main

import (
	"os"

	"github.com/glocust/glocust"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "demo" {
		os.Exit(glocust.Demo(os.Args[2:]))
	}
	os.Exit(glocust.Main(os.Args[1:]))
}
