"""The permission catalogue: every permission some running service's routes declare, as a tree,
and each external app's (gateway/proxy/upstreams.py): its own permission and those its OpenAPI
document declares under its prefix, named as configured."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from gateway.proxy.routes import Route, RouteTable, routes_from_openapi
from gateway.proxy.upstreams import Upstream
from gateway.system.modules import MODULES
from shared.pii import PII_PERMISSION

EXTRA_MODULES = {"system": {"zh": "系统管理", "en": "System"}, "pii": {"zh": "个人信息", "en": "Personal data"}}
ACTIONS = ("read", "write", "approve", "refund", "export")
# `<module>:data:export`: exporting a module's lists (docs/exports.md). No route declares it (the
# export route serves every module), so every module the catalogue shows carries it.
DATA_EXPORT = {"zh": "数据导出", "en": "Data export"}
# The actions the console names itself (system.permissionActions); an external app's other actions
# are named here, so that no permission reads as its raw string.
NAMED_ACTIONS = frozenset({*ACTIONS, "reverse"})
ACCESS = {"zh": "访问", "en": "Access"}


class PermissionNode(BaseModel):
    key: str
    action: str
    # Only where the action alone says too little (an external app's own actions).
    name: dict[str, str] | None = None


class ResourceNode(BaseModel):
    key: str
    name: dict[str, str]
    permissions: list[PermissionNode]


class ModuleNode(BaseModel):
    module: str
    name: dict[str, str]
    resources: list[ResourceNode]


def _tree(routes: list[Route]) -> list[ModuleNode]:
    resources: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.permission or route.permission.count(":") != 2:
            continue
        module, resource, action = route.permission.split(":")
        node = resources.setdefault(f"{module}:{resource}", {"actions": set(), "name": None})
        node["actions"].add(action)
        node["name"] = node["name"] or route.resource_label
    for module in {key.split(":")[0] for key in resources} & {*MODULES, "system"}:
        resources.setdefault(f"{module}:data", {"actions": set(), "name": DATA_EXPORT})["actions"].add("export")
    modules: dict[str, list[ResourceNode]] = {}
    for key, node in sorted(resources.items()):
        module = key.split(":")[0]
        actions = sorted(node["actions"], key=lambda a: (ACTIONS.index(a) if a in ACTIONS else len(ACTIONS), a))
        name = node["name"] or {"zh": key.split(":")[1], "en": key.split(":")[1]}
        modules.setdefault(module, []).append(
            ResourceNode(key=key, name=name, permissions=[PermissionNode(key=f"{key}:{a}", action=a) for a in actions])
        )
    names = {**MODULES, **EXTRA_MODULES}
    order = [*MODULES, "system"]
    tree = [
        ModuleNode(module=m, name=names.get(m, {"zh": m, "en": m}), resources=modules[m])
        for m in sorted(modules, key=lambda m: order.index(m) if m in order else len(order))
    ]
    pii = ResourceNode(
        key="pii", name=EXTRA_MODULES["pii"], permissions=[PermissionNode(key=PII_PERMISSION, action="read")]
    )
    return [*tree, ModuleNode(module="pii", name=EXTRA_MODULES["pii"], resources=[pii])]


def _external_module(upstream: Upstream, routes: list[Route]) -> ModuleNode:
    """The app's own permission and its document's under `<prefix>:`; a permission the document
    puts under another prefix is still enforced on its route, but granted where it belongs."""
    assert upstream.permission is not None
    app_name = {"zh": upstream.name.zh, "en": upstream.name.en}
    found: dict[str, dict[str, dict[str, str] | None]] = {}
    labels: dict[str, dict[str, str]] = {}
    own = [(upstream.permission, None, ACCESS), *((r.permission, r, None) for r in routes if r.permission)]
    for permission, route, name in own:
        parts = permission.split(":")
        if len(parts) != 3 or parts[0] != upstream.prefix:
            continue
        resource = f"{parts[0]}:{parts[1]}"
        if route is not None and route.resource_label and resource not in labels:
            labels[resource] = route.resource_label
        if parts[2] not in NAMED_ACTIONS:
            summary = {"zh": route.summary, "en": route.summary} if route and route.summary else None
            name = found.get(resource, {}).get(parts[2]) or name or summary or app_name
        else:
            name = None
        found.setdefault(resource, {})[parts[2]] = name
    resources = [
        ResourceNode(
            key=key,
            name=labels.get(key, app_name),
            permissions=[
                PermissionNode(key=f"{key}:{action}", action=action, name=found[key][action])
                for action in sorted(found[key], key=lambda a: (ACTIONS.index(a) if a in ACTIONS else len(ACTIONS), a))
            ],
        )
        for key in sorted(found)
    ]
    return ModuleNode(module=upstream.prefix, name=app_name, resources=resources)


async def catalogue(app: FastAPI, table: RouteTable) -> list[ModuleNode]:
    routes = routes_from_openapi(app.openapi())
    for service in MODULES:
        routes += await table.routes(service) or []
    *tree, pii = _tree(routes)
    external = [u for u in table.upstreams.values() if u.external]
    # An app not running now still offers its own permission: roles can be made before it is deployed.
    apps = [_external_module(u, await table.routes(u.prefix) or []) for u in external]
    return [*tree, *apps, pii]


def permission_keys(tree: list[ModuleNode]) -> set[str]:
    return {p.key for module in tree for resource in module.resources for p in resource.permissions}
