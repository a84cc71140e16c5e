"""Eureka's response cache, without its staleness.

Eureka serves the app-level reads (all apps, the delta, one app) from a cache of encoded
payloads — JSON and XML, gzipped and plain — that a change invalidates, behind a read-only copy
refreshed every 30 s; so a fetch costs a lookup, and may show the registry up to 30 s late.
Here a payload is keyed by the store's version instead, which moves on every change a fetch
shows and never on a plain renewal: the first fetch after a change builds it, every later one
at the same version is a lookup, and no fetch is ever older than the last change.

Building after a change stays cheap at 10,000 instances because each instance's own text is
kept as long as the instance is unchanged (the store hands out one snapshot object per state,
`LeaseStore` `published`), so a change re-encodes one instance and joins the rest.
Single instances and VIPs are not cached, as in Eureka (they are rare and cheap).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable
from typing import Literal

from registry.eureka import jsoncodec, xmlcodec
from registry.leases import LeaseStore
from registry.model import Application, Applications, InstanceInfo

Format = Literal["json", "xml"]
# Java's GZIPOutputStream default (Deflater level 6) squeezes 10,000 instances 3 times slower than
# level 1 for a few per cent less; the payload is built once per change, sent on every fetch.
GZIP_LEVEL = 4


class _Fragments:
    """Each instance's text, remembered by the identity of its snapshot (kept alive beside the
    text, so the identity is not reused); what the last full build did not use is forgotten."""

    def __init__(self, encode: Callable[[InstanceInfo], str]) -> None:
        self._encode = encode
        self._kept: dict[int, tuple[InstanceInfo, str]] = {}
        self._used: dict[int, tuple[InstanceInfo, str]] = {}

    def __call__(self, info: InstanceInfo) -> str:
        key = id(info)
        hit = self._used.get(key) or self._kept.get(key)
        if hit is None or hit[0] is not info:
            hit = (info, self._encode(info))
        self._used[key] = hit
        return hit[1]

    def sweep(self) -> None:
        self._kept, self._used = self._used, {}


class ResponseCache:
    def __init__(self, store: LeaseStore) -> None:
        self._store = store
        self._payloads: dict[tuple[Hashable, ...], tuple[Hashable, bytes]] = {}
        self._fragments = {
            "json": _Fragments(jsoncodec.instance_fragment),
            "xml": _Fragments(xmlcodec.instance_fragment),
        }
        self.builds = 0  # payloads encoded (not served from the cache), for /metrics and tests

    def applications(self, fmt: Format, gzipped: bool) -> bytes:
        """GET /apps."""
        return self._payload(("apps", fmt, gzipped), self._store.version, lambda: self._encode_all(fmt))

    def delta(self, fmt: Format, gzipped: bool) -> bytes:
        """GET /apps/delta."""
        return self._payload(
            ("delta", fmt, gzipped), self._store.delta_version(), lambda: self._encode(self._store.delta(), fmt)
        )

    def application(self, name: str, fmt: Format, gzipped: bool) -> bytes | None:
        """GET /apps/{APP}; None when there is no such app (nothing is cached for it)."""
        version = self._store.version
        key = ("app", name.upper(), fmt, gzipped)
        cached = self._payloads.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        app = self._store.application(name)
        if app is None:
            return None
        return self._payload(key, version, lambda: self._encode_app(app, fmt))

    def _payload(self, key: tuple[Hashable, ...], version: Hashable, build: Callable[[], bytes]) -> bytes:
        # The version is read before the build, so a change racing it can only make the payload
        # newer than its label; the next fetch then builds again. Never older.
        cached = self._payloads.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        if key[-1]:  # gzipped: from the plain one, itself cached
            plain = self._payload((*key[:-1], False), version, build)
            body = gzip.compress(plain, compresslevel=GZIP_LEVEL, mtime=0)
        else:
            body = build()
            self.builds += 1
        self._payloads[key] = (version, body)
        return body

    def _encode_all(self, fmt: Format) -> bytes:
        body = self._encode(self._store.applications(), fmt)
        self._fragments[fmt].sweep()
        # An app that is gone keeps no payload: whatever is older than this build goes.
        version = self._store.version
        stale = [k for k, (v, _) in self._payloads.items() if k[0] == "app" and v != version]
        for k in stale:
            del self._payloads[k]
        return body

    def _encode(self, apps: Applications, fmt: Format) -> bytes:
        encode = jsoncodec.encode_applications if fmt == "json" else xmlcodec.encode_applications
        return encode(apps, self._fragments[fmt]).encode()

    def _encode_app(self, app: Application, fmt: Format) -> bytes:
        encode = jsoncodec.encode_application if fmt == "json" else xmlcodec.encode_application
        return encode(app, self._fragments[fmt]).encode()
