#!/usr/bin/env bash
# The container image (Dockerfile, docs/image.md) proven without a Docker engine:
#   .ci/image.sh build            base images (cached), then `buildah bud` of the project's Dockerfile
#   .ci/image.sh run [--read-only] [--name N] [-e NAME=VALUE]… ARGS…
#                                 run the image in the foreground: `run run registry`, `run migrate`
#   .ci/image.sh healthcheck [N]  the image's HEALTHCHECK command in the container `run` started
#   .ci/image.sh pid [N]          that container's entrypoint (PID 1 inside), as this machine sees it
#   .ci/image.sh size|inspect     the built image's size / its configuration (JSON)
#   .ci/image.sh mount|umount     the built image's files, through a throwaway working container
#   .ci/image.sh clean            forget the cached layers and base images
#
# Stand-ins for the public base images IT builds against (docker.io/library/debian:bookworm-slim and
# node:20-bookworm-slim), made here from Debian's own packages:
#   localhost/debian:bookworm-slim  `debootstrap --variant=minbase bookworm` from the host's Debian
#                                   mirror, slimmed as the public image is (no docs, man pages, apt lists)
#   localhost/node:20-bookworm-slim that root filesystem plus this machine's Node 20 (node and npm, as
#                                   in /usr/local of the public image)
# Everything is cached under ~/.cache/hamp: the root filesystem as a tarball in image/, the images and
# their layers in containers/ (so a build where only the source changed reuses every other layer).
set -euo pipefail
cd "$(dirname "$0")/.."
cache_root="${HAMP_CACHE_DIR:-$HOME/.cache/hamp}"
cache="$cache_root/image"
store="$cache_root/containers"
image=localhost/hamp:ci
debian_image=localhost/debian:bookworm-slim
node_image=localhost/node:20-bookworm-slim
# The working container `run` starts, so that `healthcheck` and `pid` can find it again.
container=hamp-image-ci
# buildah's scratch space and its RUN --mount=type=cache directories (the uv download cache) live there too.
export TMPDIR="$store/tmp"
mkdir -p "$cache" "$store" "$TMPDIR"
# Overlay storage of our own: no system-wide configuration needed, nothing shared with other users of
# buildah or podman on the machine. The run root holds only locks and mount state.
storage=(--root "$store/storage" --runroot "$store/run" --storage-driver overlay)
BUILDAH=(buildah "${storage[@]}")

say() { printf '[image] %s\n' "$*" >&2; }
has_image() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

debian_rootfs() {
  # The host's Debian mirror (the one apt here uses), bookworm, the smallest variant.
  local tarball="$cache/debian-bookworm-minbase.tar" mirror root
  [ -f "$tarball" ] && return
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror="${mirror:-http://deb.debian.org/debian}"
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  say "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
  # What the public slim image leaves out (its /etc/dpkg/dpkg.cfg.d/docker), for later installs too.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/* "$root"/var/log/*.log "$root"/var/log/apt/* "$root/etc/apt/sources.list"
  # Bookworm with its updates and security fixes, as the public image's sources.
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  : >"$root/etc/machine-id"
  rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
}

debian_base() {
  has_image "$debian_image" && return
  debian_rootfs
  local ctr
  ctr=$("${BUILDAH[@]}" from --pull=never scratch)
  "${BUILDAH[@]}" add "$ctr" "$cache/debian-bookworm-minbase.tar" / >/dev/null
  "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash \
    --label org.opencontainers.image.description="Debian bookworm minbase (debootstrap), stand-in for debian:bookworm-slim" \
    "$ctr"
  "${BUILDAH[@]}" commit --rm -q "$ctr" "$debian_image" >/dev/null
  say "base image $debian_image imported"
}

node_base() {
  # Node >= 20.19 (vite 8): this machine's, in the places the public node image has it.
  local node npm_dir version ctr mnt
  node=$(readlink -f "$(command -v node)")
  npm_dir=$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")
  version=$("$node" --version)
  if has_image "$node_image" &&
    [ "$("${BUILDAH[@]}" inspect --type image --format '{{index .OCIv1.Config.Labels "node.version"}}' "$node_image")" = "$version" ]; then
    return
  fi
  case "$version" in v2[0-9].*) ;; *) say "Node 20 needed for the console stage, found $version"; exit 1 ;; esac
  ctr=$("${BUILDAH[@]}" from --pull=never "$debian_image")
  mnt=$("${BUILDAH[@]}" mount "$ctr")
  mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules"
  cp "$node" "$mnt/usr/local/bin/node"
  cp -a "$npm_dir" "$mnt/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" config --env NODE_VERSION="${version#v}" --cmd node --label node.version="$version" \
    --label org.opencontainers.image.description="$debian_image plus Node $version, stand-in for node:20-bookworm-slim" \
    "$ctr"
  "${BUILDAH[@]}" commit --rm -q "$ctr" "$node_image" >/dev/null
  say "base image $node_image made (Node $version)"
}

build() {
  local started ca=()
  exec 9>"$store/lock"
  flock 9
  started=$(date +%s)
  debian_base
  node_base
  say "base images ready in $(( $(date +%s) - started ))s; buildah bud"
  # This machine's CA bundle for the downloads (a TLS-inspecting proxy's CA included), never in a layer.
  [ -s /etc/ssl/certs/ca-certificates.crt ] && ca=(--secret id=build-ca,src=/etc/ssl/certs/ca-certificates.crt)
  # chroot isolation and the host's network: no container runtime nor bridge needed. --layers keeps every
  # step's result in the cached storage; two jobs build the console and the Python stages side by side.
  # Docker format: the OCI one has no HEALTHCHECK. The labels name the commit, and date the image by it, so
  # that an unchanged checkout builds the very same image.
  "${BUILDAH[@]}" bud --isolation chroot --network host --layers --jobs 2 --pull=never --format docker \
    --build-arg BASE_IMAGE="$debian_image" --build-arg NODE_IMAGE="$node_image" \
    --build-arg VERSION="$(awk -F'"' '/^version =/ { print $2; exit }' pyproject.toml)" \
    --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || true)" \
    --build-arg CREATED="$(git log -1 --format=%cI 2>/dev/null || true)" \
    "${ca[@]}" -f Dockerfile -t "$image" . >"$cache/build.log" 2>&1 || { tail -n 40 "$cache/build.log" >&2; exit 1; }
  prune
  say "built $image in $(( $(date +%s) - started ))s: $(size)"
}

# Every step of this build (the ids its log names) stays cached; what earlier builds left (steps of older
# sources, whole older images) goes, so the storage does not grow with each commit.
prune() {
  local keep ids id removed name
  keep=$( (grep -oE -- '^--> [0-9a-f]{6,}|Using cache [0-9a-f]{12,}' "$cache/build.log" | awk '{ print $NF }'
    for name in "$image" "$debian_image" "$node_image"; do
      echo "$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$name")"
    done) |
    cut -c1-11 | sort -u)
  # A log without step ids (another buildah's format) keeps everything rather than the cache's every step.
  [ "$(wc -l <<<"$keep")" -gt 10 ] || return 0
  # Children first: an image another one is built on cannot go before it, so a few rounds.
  for _ in 1 2 3 4 5 6; do
    removed=0
    ids=$("${BUILDAH[@]}" images --all --noheading --no-trunc --format '{{.ID}}' | sed 's/^sha256://' | cut -c1-11)
    for id in $ids; do
      grep -qx "$id" <<<"$keep" && continue
      "${BUILDAH[@]}" rmi "$id" >/dev/null 2>&1 && removed=1
    done
    [ "$removed" = 1 ] || break
  done
}

size() {
  "${BUILDAH[@]}" images --format '{{.Size}}' "$image"
}

# One field of the image's configuration (Docker format), as shell words: Env, Entrypoint, User, ….
config() {
  "${BUILDAH[@]}" inspect --type image "$image" | python3 -c '
import json, shlex, sys
value = json.load(sys.stdin)["Docker"]["config"]
for key in sys.argv[1].split("."):
    value = (value or {}).get(key)
print(shlex.join(value) if isinstance(value, list) else shlex.quote(str(value or "")))' "$1"
}

# `podman run` fails on this machine (crun: "cgroups in hybrid mode not supported"), so the image runs the
# way a runtime would run it, by hand: a working container (the image plus a writable layer, buildah from),
# its root filesystem mounted, new PID and mount namespaces with their own /proc and a minimal /dev, the
# host's network (loopback), then chroot as the image's User, with its Env (plus -e NAME=VALUE), WorkingDir
# and Entrypoint; the arguments replace its Cmd. The entrypoint is PID 1 and receives SIGTERM on stop.
# --name NAME: the working container's name, for `healthcheck` and `pid` (default hamp-image-ci).
# --read-only: as the chart runs it (readOnlyRootFilesystem), the root read-only with empty, writable
# /tmp and WorkingDir (the var dir), as its emptyDirs are.
run() {
  local envs=() read_only=0 ctr rootfs user workdir home entrypoint cmd pid=""
  while :; do
    case "${1:-}" in
      -e) envs+=("$2"); shift 2 ;;
      --read-only) read_only=1; shift ;;
      --name) container=$2; shift 2 ;;
      *) break ;;
    esac
  done
  eval "entrypoint=($(config Entrypoint))"
  if [ $# -eq 0 ]; then eval "cmd=($(config Cmd))"; else cmd=("$@"); fi
  eval "user=$(config User)"
  eval "workdir=$(config WorkingDir)"
  eval "local image_env=($(config Env))"
  "${BUILDAH[@]}" rm "$container" >/dev/null 2>&1 || true
  ctr=$("${BUILDAH[@]}" from --pull=never --name "$container" "$image")
  rootfs=$("${BUILDAH[@]}" mount "$ctr")
  home=$(awk -F: -v uid="${user%%:*}" '$3 == uid { print $6 }' "$rootfs/etc/passwd")
  touch "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf"
  stop() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; }
  trap stop TERM INT
  unshare --pid --fork --kill-child --mount --propagation private --mount-proc="$rootfs/proc" \
    bash -c '
      set -e
      root=$1 user=$2 workdir=$3 read_only=$4; shift 4
      if [ "$read_only" = 1 ]; then
        mount --rbind "$root" "$root" && mount -o remount,bind,ro "$root"
        mount -t tmpfs -o nosuid,nodev,mode=1777 tmp "$root/tmp"
        mount -t tmpfs -o "nosuid,nodev,mode=0700,uid=${user%%:*},gid=${user##*:}" var "$root$workdir"
      fi
      mount -t tmpfs -o nosuid,mode=0755 dev "$root/dev"
      for node in null zero full random urandom tty; do
        touch "$root/dev/$node" && mount --bind "/dev/$node" "$root/dev/$node"
      done
      mkdir "$root/dev/shm" "$root/dev/pts" && mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$root/dev/shm"
      ln -s /proc/self/fd "$root/dev/fd"
      mount --bind /etc/hosts "$root/etc/hosts" && mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
      exec chroot --userspec="$user" "$root" /usr/bin/env -i -C "$workdir" "$@"' \
    run "$rootfs" "$user" "$workdir" "$read_only" "${image_env[@]}" HOME="$home" "${envs[@]}" "${entrypoint[@]}" "${cmd[@]}" &
  local unshared=$!
  # The entrypoint: unshare's only child, PID 1 of the new namespace.
  for _ in $(seq 50); do pid=$(pgrep -P "$unshared" || true); [ -n "$pid" ] && break; sleep 0.1; done
  echo "$pid" >"$store/$container.pid"
  # A signal interrupts the first wait (the trap forwards it); the second has the entrypoint's exit status.
  local status=0
  wait "$unshared" || true
  wait "$unshared" || status=$?
  rm -f "$store/$container.pid"
  "${BUILDAH[@]}" umount "$ctr" >/dev/null 2>&1 || true
  "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true
  return "$status"
}

# The image's HEALTHCHECK command inside the container `run` started, as `docker exec` would run it: in the
# entrypoint's namespaces and root, as the image's user, with its environment.
healthcheck() {
  local pid test user workdir
  pid=$(cat "$store/$container.pid" 2>/dev/null) || { say "no container running (.ci/image.sh run …)"; exit 1; }
  eval "test=($(config Healthcheck.Test))"
  case "${test[0]}" in
    CMD) test=("${test[@]:1}") ;;
    CMD-SHELL) test=(/bin/sh -c "${test[1]}") ;;
    *) say "the image has no HEALTHCHECK"; exit 1 ;;
  esac
  eval "user=$(config User)"
  # Its environment as it is now (the image's plus any -e), read from the entrypoint itself.
  local env=()
  mapfile -d '' env <"/proc/$pid/environ"
  nsenter --target "$pid" --pid --mount --root --wd --setuid "${user%%:*}" --setgid "${user##*:}" \
    /usr/bin/env -i "${env[@]}" "${test[@]}"
}

case "${1:-}" in
  base) debian_base; node_base ;;
  build) build ;;
  size) size ;;
  inspect) "${BUILDAH[@]}" inspect --type image "$image" ;;
  run) shift; run "$@" ;;
  pid) cat "$store/${2:-$container}.pid" ;;
  healthcheck) container=${2:-$container}; healthcheck ;;
  mount)
    # The image's files for whoever looks (the tests): through a working container of its own, so that
    # nothing can change the image itself.
    "${BUILDAH[@]}" rm "$container-view" >/dev/null 2>&1 || true
    "${BUILDAH[@]}" mount "$("${BUILDAH[@]}" from --pull=never --name "$container-view" "$image")"
    ;;
  umount) "${BUILDAH[@]}" rm "$container-view" >/dev/null ;;
  clean)
    "${BUILDAH[@]}" rm --all >/dev/null 2>&1 || true
    "${BUILDAH[@]}" rmi --all --force >/dev/null 2>&1 || true
    rm -rf "$cache" "$store"
    ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
