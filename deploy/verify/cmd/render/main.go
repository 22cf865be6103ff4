// Command render builds every kustomize overlay under a deploy directory and
// writes each as <out>/<overlay>.yaml. glocust's own test (package deploy in
// the main module) runs it to check container args and env with glocust's
// flag parser, and to start the headless Job and workers locally.
//
//	go run ./cmd/render -deploy .. -out /tmp/rendered
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glocust/glocust/deploy/verify/manifests"
)

func main() {
	deployDir := flag.String("deploy", "..", "the deploy directory (holds overlays/)")
	out := flag.String("out", "", "directory to write <overlay>.yaml into")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "render: -out is required")
		os.Exit(2)
	}
	if err := run(*deployDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(deployDir, out string) error {
	names, err := manifests.Overlays(deployDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		y, err := manifests.RenderYAML(filepath.Join(deployDir, "overlays", name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, name+".yaml"), y, 0o644); err != nil {
			return err
		}
	}
	return nil
}
