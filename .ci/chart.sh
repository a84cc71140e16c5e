#!/usr/bin/env bash
# The Helm chart's proof without a cluster (docs/helm.md, "How the chart is validated").
#   build   go-installs helm and builds .ci/kubecheck into ~/.cache/hamp/bin (once; minutes cold, nothing warm)
#   check   helm lint --strict, then helm template of the defaults and of every charts/hamp/ci/*-values.yaml,
#           each rendered manifest decoded strictly into the official Kubernetes API types by kubecheck
#   render VALUES...   helm template with these values files (for the tests), on stdout
# Needs Go (go on PATH, else /usr/local/go/bin/go) and the Go module proxy, nothing else: no cluster, no Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:?build|check|render}
shift || true
cache=${HAMP_CACHE_DIR:-$HOME/.cache/hamp}
bin_dir=${HAMP_BIN_DIR:-$cache/bin}
helm_version=${HELM_VERSION:-v3.22.0}
# The oldest Kubernetes the chart claims (Chart.yaml kubeVersion); every API it uses is GA there.
kube_version=${HAMP_KUBE_VERSION:-1.25.0}
release=hamp
namespace=hamp

go_env() {
  export GOBIN=$bin_dir GOCACHE=$cache/go/cache GOMODCACHE=$cache/go/mod GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
  go=$(command -v go || echo /usr/local/go/bin/go)
}

build() {
  mkdir -p "$bin_dir"
  go_env
  if [ "$(cat "$bin_dir/helm.version" 2>/dev/null)" != "$helm_version" ] || [ ! -x "$bin_dir/helm" ]; then
    echo "chart.sh: go install helm $helm_version (minutes on a cold cache)" >&2
    "$go" install "helm.sh/helm/v3/cmd/helm@$helm_version"
    echo "$helm_version" >"$bin_dir/helm.version"
  fi
  # Rebuilt whenever its source changes (the stamp is a hash of the sources).
  local stamp
  stamp=$(cat .ci/kubecheck/go.mod .ci/kubecheck/go.sum .ci/kubecheck/*.go | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$bin_dir/kubecheck.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$bin_dir/kubecheck" ]; then
    echo "chart.sh: building kubecheck" >&2
    (cd .ci/kubecheck && "$go" build -o "$bin_dir/kubecheck" .)
    echo "$stamp" >"$bin_dir/kubecheck.stamp"
  fi
}

render() { # VALUES_FILE... : the manifests on stdout
  local args=()
  for f in "$@"; do args+=(-f "$f"); done
  "$bin_dir/helm" template "$release" charts/hamp --namespace "$namespace" --kube-version "$kube_version" "${args[@]}"
}

check() {
  build
  local failed=0 sets=("") f
  for f in charts/hamp/ci/*-values.yaml; do sets+=("$f"); done
  for f in "${sets[@]}"; do
    local name=${f:-defaults} args=()
    [ -n "$f" ] && args=("$f")
    echo "== $name"
    if ! "$bin_dir/helm" lint --strict charts/hamp --namespace "$namespace" --kube-version "$kube_version" \
      ${f:+-f "$f"} >/tmp/hamp-chart-lint.$$ 2>&1; then
      cat /tmp/hamp-chart-lint.$$
      failed=1
    else
      tail -n 1 /tmp/hamp-chart-lint.$$
    fi
    rm -f /tmp/hamp-chart-lint.$$
    local out
    out=$(render "${args[@]}" | "$bin_dir/kubecheck") || failed=1
    # Each object's line only when it is at fault; the count always.
    grep -v '^ok ' <<<"$out" || true
  done
  return "$failed"
}

case "$cmd" in
build) build ;;
check) check ;;
render)
  build >&2
  render "$@"
  ;;
*)
  echo "usage: $0 build|check|render [VALUES...]" >&2
  exit 2
  ;;
esac
