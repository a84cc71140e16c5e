# Sourced by the scripts that take a server or a tool from Maven Central (.ci/elasticsearch.sh,
# .ci/spring.sh): one download, checked against the SHA-512 pinned in the script for its default
# version (Central's own .sha512 file for another version), cached, and removed again on a mismatch.

central_get() { # URL FILE PINNED_SHA512: FILE holds URL's content, checked; PINNED "" asks Central's .sha512
  local url=$1 file=$2 expected=$3
  mkdir -p "$(dirname "$file")"
  if [ ! -f "$file" ]; then
    curl -sfSL --retry 3 -o "$file.part" "$url"
    mv "$file.part" "$file"
  fi
  [ -n "$expected" ] || expected=$(curl -sfSL --retry 3 "$url.sha512" | cut -c1-128)
  if ! echo "$expected  $file" | sha512sum -c --status; then
    echo "checksum mismatch for $file (expected sha512 $expected); removed" >&2
    rm -f "$file"
    return 1
  fi
}
