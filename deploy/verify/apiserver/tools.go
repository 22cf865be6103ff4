//go:build tools

// Package apiserver only records the kube-apiserver command as a dependency
// so that go mod tidy keeps everything it needs.
package apiserver

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
