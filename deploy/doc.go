// Package deploy holds glocust's Kubernetes manifests (kustomize base and
// overlays), its container image (Dockerfile) and the tests that tie them to
// the binary: the image's binary is static and starts with nothing but its
// scenario, every container's args and env pass glocust's own flag parser
// (so a misspelt flag or LOCUST_* name in a manifest fails the suite), and
// the headless Job and workers run locally exactly as rendered.
//
// The Kubernetes-side verification (strict decoding into k8s.io/api types,
// Pod Security, lints, a server-side dry run against a real kube-apiserver)
// lives in the separate module deploy/verify, so that this module's go.mod
// stays free of Kubernetes libraries; these tests use its render command.
//
// There is no non-test code here.
package deploy
