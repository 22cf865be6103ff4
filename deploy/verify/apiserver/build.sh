#!/usr/bin/env bash
# Builds the pinned kube-apiserver from the Go module proxy (this module's
# go.mod) once, caches it outside the work tree and prints its path.
#
# Why outside the work tree: CI runs in a fresh clone on the same machine, so a
# binary under the clone would be rebuilt (~6 min on 2 cores) on every run;
# under ${XDG_CACHE_HOME:-$HOME/.cache}/glocust it is built once per machine and
# version, and later runs take a second. Override with GLOCUST_CACHE_DIR.
set -euo pipefail

K8S_VERSION=v1.37.2 # keep in step with go.mod's k8s.io/kubernetes
cache="${GLOCUST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/glocust}"
bin="$cache/kube-apiserver-$K8S_VERSION"

if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache"
cd "$(dirname "${BASH_SOURCE[0]}")"
echo "building kube-apiserver $K8S_VERSION into $bin (cold: ~6 min on 2 cores)" >&2
start=$SECONDS
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
v=k8s.io/component-base/version
nice -n 19 go build -trimpath -o "$tmp" \
	-ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean" \
	k8s.io/kubernetes/cmd/kube-apiserver
mv "$tmp" "$bin"
echo "built kube-apiserver in $((SECONDS - start)) s" >&2
echo "$bin"
