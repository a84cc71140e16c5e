"""Eureka's REST operations under /eureka: HTTP in, a lease-store call, Eureka's answer out.

These are Eureka's protocol endpoints, so they answer with Eureka's status codes and bodies
(empty 404s, 400 with a text body), not problem+json. Reads are XML unless the Accept header
contains "json", and gzipped when Accept-Encoding contains "gzip". The heartbeat
(`PUT /eureka/apps/{APP}/{id}`) is answered before the framework, in heartbeat.py.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from registry.cluster import Cluster
from registry.eureka import jsoncodec, replication, xmlcodec
from registry.eureka.cache import Format, ResponseCache
from registry.eureka.fields import MalformedInstance
from registry.leases import InvalidRegistration, LeaseStore
from registry.model import Applications, InstanceInfo, Status
from registry.peers import NODE_HEADER, REPLICATION_HEADER
from shared.registry_auth import basic_matches

router = APIRouter(prefix="/eureka", tags=["eureka"])


class NoCredentials(Exception):
    """A write without the registry's credentials."""


async def refuse_without_credentials(request: Request, exc: Exception) -> Response:
    # 401 with an empty body, as Spring Security answers: the Spring client reads the body of a refused
    # heartbeat as an InstanceInfo, and logs a stack trace over a problem+json one.
    return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="hamp-registry"'})


async def _writer(request: Request) -> None:
    """Every write needs the registry's credentials (HTTP Basic); reads stay open. `async`: FastAPI
    runs a plain function in a worker thread, a hand-off that cost each heartbeat a third of its CPU."""
    user, passwords = request.app.state.writers
    if not basic_matches(request.headers.get("authorization"), user, passwords):
        raise NoCredentials


WRITER = [Depends(_writer)]

MAX_REGISTRATION_BYTES = 64 * 1024


def _store(request: Request) -> LeaseStore:
    store: LeaseStore = request.app.state.leases
    return store


def _wants_json(request: Request) -> bool:
    return "json" in request.headers.get("accept", "").lower()


def _encoded(request: Request, json_text: Callable[[], str], xml_text: Callable[[], str], *, gzip_ok: bool) -> Response:
    if _wants_json(request):
        body, media_type = json_text(), jsoncodec.MEDIA_TYPE
    else:
        body, media_type = xml_text(), xmlcodec.MEDIA_TYPE
    data = body.encode("utf-8")
    headers = {}
    if gzip_ok and "gzip" in request.headers.get("accept-encoding", "").lower():
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=f"{media_type}; charset=utf-8", headers=headers)


def _cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.responses
    return cache


def _cached(request: Request, payload: Callable[[Format, bool], bytes | None]) -> Response:
    """An app-level read from the response cache: JSON or XML, gzipped when the client takes it."""
    fmt: Format = "json" if _wants_json(request) else "xml"
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
    body = payload(fmt, gzipped)
    if body is None:
        return Response(status_code=404)
    media_type = jsoncodec.MEDIA_TYPE if fmt == "json" else xmlcodec.MEDIA_TYPE
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    return Response(body, media_type=f"{media_type}; charset=utf-8", headers=headers)


def _applications(request: Request, apps: Applications) -> Response:
    return _encoded(
        request,
        lambda: jsoncodec.encode_applications(apps),
        lambda: xmlcodec.encode_applications(apps),
        gzip_ok=True,
    )


def _instance(request: Request, info: InstanceInfo | None) -> Response:
    if info is None:
        return Response(status_code=404)
    # Eureka serialises single instances directly, outside its (gzipping) response cache.
    return _encoded(
        request,
        lambda: jsoncodec.encode_instance(info),
        lambda: xmlcodec.encode_instance(info),
        gzip_ok=False,
    )


def _bad_request(message: str) -> Response:
    return PlainTextResponse(message, status_code=400)


def _timestamp(request: Request) -> int | None:
    """The optional lastDirtyTimestamp query parameter; ValueError when it is no number."""
    raw = request.query_params.get("lastDirtyTimestamp")
    return int(raw) if raw not in (None, "") else None


def _status_value(raw: str | None) -> Status | None:
    if raw is None:
        return None
    try:
        return Status(raw.strip().upper())
    except ValueError:
        return None


def _cluster(request: Request) -> Cluster:
    cluster: Cluster = request.app.state.cluster
    return cluster


def _replicated(request: Request) -> bool:
    """A write a peer passed on (Eureka's header), which is not passed on again."""
    return request.headers.get(REPLICATION_HEADER, "").lower() == "true"


async def _read_body(request: Request, limit: int = MAX_REGISTRATION_BYTES) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


@router.post("/apps/{app}", status_code=204, dependencies=WRITER)
async def register(app: str, request: Request) -> Response:
    body = await _read_body(request)
    if body is None:
        return _bad_request(f"Instance too large (over {MAX_REGISTRATION_BYTES // 1024} KiB)")
    content_type = request.headers.get("content-type", "").lower()
    is_xml = "xml" in content_type or ("json" not in content_type and body.lstrip().startswith(b"<"))
    try:
        info = xmlcodec.decode_instance(body) if is_xml else jsoncodec.decode_instance(body)
        _cluster(request).register(app, info, replicated=_replicated(request))
    except (MalformedInstance, InvalidRegistration) as exc:
        return _bad_request(str(exc))
    return Response(status_code=204)


@router.get("/apps")
@router.get("/apps/")
async def get_applications(request: Request) -> Response:
    return _cached(request, _cache(request).applications)


@router.get("/apps/delta")
async def get_delta(request: Request) -> Response:
    return _cached(request, _cache(request).delta)


@router.get("/apps/{app}")
async def get_application(app: str, request: Request) -> Response:
    return _cached(request, lambda fmt, gzipped: _cache(request).application(app, fmt, gzipped))


@router.get("/apps/{app}/{instance_id}")
async def get_app_instance(app: str, instance_id: str, request: Request) -> Response:
    return _instance(request, _store(request).instance(app, instance_id))


@router.get("/instances/{instance_id}")
async def get_instance(instance_id: str, request: Request) -> Response:
    return _instance(request, _store(request).find_instance(instance_id))


@router.get("/vips/{vip}")
async def get_vip(vip: str, request: Request) -> Response:
    return _applications(request, _store(request).vip(vip))


@router.get("/svips/{svip}")
async def get_secure_vip(svip: str, request: Request) -> Response:
    return _applications(request, _store(request).vip(svip, secure=True))


@router.delete("/apps/{app}/{instance_id}", dependencies=WRITER)
async def cancel(app: str, instance_id: str, request: Request) -> Response:
    cancelled = _cluster(request).cancel(app, instance_id, replicated=_replicated(request))
    return Response(status_code=200 if cancelled else 404)


@router.put("/apps/{app}/{instance_id}/status", dependencies=WRITER)
async def set_status_override(app: str, instance_id: str, request: Request) -> Response:
    store = _store(request)
    if store.instance(app, instance_id) is None:
        return Response(status_code=404)
    status = _status_value(request.query_params.get("value"))
    if status is None:
        return _bad_request("Invalid or missing value")
    try:
        last_dirty = _timestamp(request)
    except ValueError:
        return _bad_request("Invalid lastDirtyTimestamp")
    ok = _cluster(request).set_status_override(app, instance_id, status, last_dirty, replicated=_replicated(request))
    return Response(status_code=200 if ok else 404)


@router.delete("/apps/{app}/{instance_id}/status", dependencies=WRITER)
async def delete_status_override(app: str, instance_id: str, request: Request) -> Response:
    store = _store(request)
    if store.instance(app, instance_id) is None:
        return Response(status_code=404)
    raw = request.query_params.get("value")
    status = Status.UNKNOWN if raw is None else _status_value(raw)
    if status is None:
        return _bad_request("Invalid value")
    try:
        last_dirty = _timestamp(request)
    except ValueError:
        return _bad_request("Invalid lastDirtyTimestamp")
    ok = _cluster(request).delete_status_override(app, instance_id, status, last_dirty, replicated=_replicated(request))
    return Response(status_code=200 if ok else 404)


@router.put("/apps/{app}/{instance_id}/metadata", dependencies=WRITER)
async def update_metadata(app: str, instance_id: str, request: Request) -> Response:
    params = request.query_params
    entries = {key: params.getlist(key)[0] for key in params}
    ok = _cluster(request).update_metadata(app, instance_id, entries, replicated=_replicated(request))
    return Response(status_code=200 if ok else 404)


@router.post("/peerreplication/batch", dependencies=WRITER)
@router.post("/peerreplication/batch/", dependencies=WRITER)
async def replicate(request: Request) -> Response:
    """A peer's batch of writes (Eureka's PeerReplicationResource); refused whole when malformed."""
    body = await _read_body(request, replication.MAX_BATCH_BYTES)
    if body is None:
        return _bad_request(f"Batch too large (over {replication.MAX_BATCH_BYTES // 1024 // 1024} MiB)")
    if request.headers.get(NODE_HEADER) == _cluster(request).peers.node_id:
        return Response(status_code=200)  # from this registry itself: the answer's node header tells it
    try:
        tasks = replication.decode_batch(body)
    except replication.MalformedBatch as exc:
        return _bad_request(str(exc))
    results = _cluster(request).apply(tasks)
    return Response(replication.encode_results(results), media_type=jsoncodec.MEDIA_TYPE)
