#!/usr/bin/env bash
# The Spring fixtures of the tests (tests/fixtures/spring: a Spring Eureka server and a Spring Boot app
# with the Eureka client), built with Maven from Maven Central outside the repository.
#   build   leaves eureka-server.jar and eureka-app.jar in ~/.cache/hamp/spring/<hash of the fixture
#           sources>/ and prints that directory; instant when it is there already, so an edited fixture
#           (a new hash) is rebuilt and an unchanged one never is. Beside each jar, for a faster start:
#           <name>/<name>.jar (the jar extracted, as Spring Boot's CDS support wants it) and <name>.jsa
#           (a class-data-sharing archive of a training run: `java -XX:SharedArchiveFile=<name>.jsa
#           -jar <name>/<name>.jar` starts about a second sooner)
# Maven: Apache Maven $MAVEN_VERSION (default 3.9.16, sha512 pinned) in ~/.cache/hamp/maven, local
# repository ~/.cache/hamp/m2. Java: a JDK 17 (javac), $SPRING_JAVA_HOME, else Debian's openjdk-17, else
# the `javac` on PATH (apt-get install openjdk-17-jdk-headless).
set -euo pipefail
cmd=${1:?build}
here=$(cd "$(dirname "$0")/.." && pwd)
sources=$here/tests/fixtures/spring
maven_version=${MAVEN_VERSION:-3.9.16}
# The checksum Maven Central published for the default version, pinned here so that a changed file fails.
pinned_sha512=831a8591fe20c8243b1dbe7d71e3244f31d1665b0804b2e825e38cbbe5ce0cafb8338851f90780735568773e0a6cd07bbec107cda0b896b008b861075358b6f6
cache=${HAMP_CACHE:-$HOME/.cache/hamp}
maven_home=$cache/maven/apache-maven-$maven_version
maven_base=https://repo1.maven.org/maven2/org/apache/maven/apache-maven/$maven_version

say() { echo "spring.sh: $*" >&2; }
# shellcheck source=.ci/central.sh
. "$(dirname "$0")/central.sh"

java_home() {
  if [ -n "${SPRING_JAVA_HOME:-}" ]; then echo "$SPRING_JAVA_HOME"; return; fi
  local candidate
  for candidate in /usr/lib/jvm/java-17-openjdk-*; do
    [ -x "$candidate/bin/javac" ] && { echo "$candidate"; return; }
  done
  candidate=$(command -v javac) || { say "no JDK 17 (apt-get install openjdk-17-jdk-headless)"; exit 1; }
  dirname "$(dirname "$(readlink -f "$candidate")")"
}

maven() {
  [ -x "$maven_home/bin/mvn" ] && return 0
  local tgz=$cache/maven/apache-maven-$maven_version-bin.tar.gz
  central_get "$maven_base/apache-maven-$maven_version-bin.tar.gz" "$tgz" \
    "$([ "$maven_version" = 3.9.16 ] && echo "$pinned_sha512")" || exit 1
  rm -rf "$maven_home.part"
  mkdir -p "$maven_home.part"
  tar -xzf "$tgz" -C "$maven_home.part" --strip-components=1
  mv "$maven_home.part" "$maven_home"
}

# The sources' paths and contents, and how they are built (this script, Maven's version): what the
# jars depend on.
fingerprint() {
  (
    cd "$sources"
    find . -type f ! -path '*/target/*' | LC_ALL=C sort | xargs sha256sum
    sha256sum < "$here/.ci/spring.sh"
    echo "maven $maven_version"
  ) | sha256sum | cut -c1-16
}

# JAVA DIR NAME: DIR/NAME extracted and its CDS archive DIR/NAME.jsa (made last: users take the
# extracted jar only when the archive is there), from a run that stops once the context is refreshed
# (no server started, no registry called). The archive holds the extracted jars' paths, so it is
# made where they stay.
archive() {
  local java=$1 dir=$2 name=$3
  rm -rf "${dir:?}/$name"
  "$java/bin/java" -Djarmode=tools -jar "$dir/$name.jar" extract --destination "$dir/$name" >/dev/null
  if (cd "$dir" && "$java/bin/java" -XX:ArchiveClassesAtExit="$dir/$name.jsa.part" -Xlog:cds=off -Xlog:cds+dynamic=off \
    -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dspring.context.exit=onRefresh -jar "$dir/$name/$name.jar" \
    --server.port=0 --server.address=127.0.0.1 --hamp.registry.url=http://127.0.0.1:9/eureka/ \
    >"$work/$name-cds.log" 2>&1) && [ -s "$dir/$name.jsa.part" ]; then
    mv "$dir/$name.jsa.part" "$dir/$name.jsa"
  else
    say "no CDS archive for $name (it starts without one):"
    tail -n 5 "$work/$name-cds.log" >&2
    rm -f "$dir/$name.jsa.part"
  fi
}

build() {
  local hash out java
  hash=$(fingerprint)
  out=$cache/spring/$hash
  if [ -f "$out/eureka-server.jar" ] && [ -f "$out/eureka-app.jar" ]; then
    touch "$out" # in use: not pruned
    echo "$out"
    return 0
  fi
  mkdir -p "$cache/spring"
  # One build at a time on this machine; a second caller waits and then finds the jars.
  exec 9>"$cache/spring/.lock"
  flock 9
  if [ -f "$out/eureka-server.jar" ] && [ -f "$out/eureka-app.jar" ]; then
    echo "$out"
    return 0
  fi
  maven
  java=$(java_home)
  work=$(mktemp -d "$cache/spring/build.XXXXXX")
  trap 'rm -rf "${work:-}"' EXIT
  cp -r "$sources/." "$work/"
  rm -rf "$work"/*/target
  say "building the Spring fixtures ($hash) in $work"
  if ! (cd "$work" && JAVA_HOME=$java MAVEN_OPTS="-XX:TieredStopAtLevel=1 ${MAVEN_OPTS:-}" \
    "$maven_home/bin/mvn" -B -ntp -q -Dmaven.repo.local="$cache/m2" -DskipTests package >"$work/build.log" 2>&1); then
    say "the build failed; the end of its log:"
    tail -n 40 "$work/build.log" >&2
    exit 1
  fi
  rm -rf "$out.part"
  mkdir -p "$out.part"
  cp "$work/eureka-server/target/eureka-server.jar" "$work/eureka-app/target/eureka-app.jar" "$out.part/"
  mv "$out.part" "$out"
  archive "$java" "$out" eureka-server
  archive "$java" "$out" eureka-app
  # Builds of older fixture sources, unused for a week.
  find "$cache/spring" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" -mtime +7 -exec rm -rf {} + 2>/dev/null || true
  echo "$out"
}

case "$cmd" in
build)
  build
  ;;
*)
  echo "usage: $0 build" >&2
  exit 2
  ;;
esac
