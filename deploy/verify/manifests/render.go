// Package manifests renders glocust's kustomize overlays and decodes the
// objects they produce.
package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Overlays lists the overlay names under deployDir/overlays, sorted.
func Overlays(deployDir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(deployDir, "overlays"))
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// RenderYAML runs kustomize build on dir, as kubectl apply -k would (same
// output as kubectl kustomize, legacy resource order).
func RenderYAML(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	opts := krusty.MakeDefaultOptions()
	// kubectl's order: Namespace first, workloads after what they use.
	opts.Reorder = krusty.ReorderOptionLegacy
	k := krusty.MakeKustomizer(opts)
	rm, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("manifests: kustomize build %s: %w", dir, err)
	}
	y, err := rm.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("manifests: kustomize build %s: %w", dir, err)
	}
	return y, nil
}
