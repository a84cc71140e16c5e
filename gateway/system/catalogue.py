"""The permission catalogue: every permission some running service's routes declare, as a tree."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from gateway.proxy.routes import Route, RouteTable, routes_from_openapi
from gateway.system.modules import MODULES
from shared.pii import PII_PERMISSION

EXTRA_MODULES = {"system": {"zh": "系统管理", "en": "System"}, "pii": {"zh": "个人信息", "en": "Personal data"}}
ACTIONS = ("read", "write", "approve", "refund", "export")
# `<module>:data:export`: exporting a module's lists (docs/exports.md). No route declares it (the
# export route serves every module), so every module the catalogue shows carries it.
DATA_EXPORT = {"zh": "数据导出", "en": "Data export"}


class PermissionNode(BaseModel):
    key: str
    action: str


class ResourceNode(BaseModel):
    key: str
    name: dict[str, str]
    permissions: list[PermissionNode]


class ModuleNode(BaseModel):
    module: str
    name: dict[str, str]
    resources: list[ResourceNode]


def _tree(routes: list[Route]) -> list[ModuleNode]:
    resources: dict[str, dict] = {}
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


async def catalogue(app: FastAPI, table: RouteTable) -> list[ModuleNode]:
    routes = routes_from_openapi(app.openapi())
    for service in MODULES:
        routes += await table.routes(service) or []
    return _tree(routes)


def permission_keys(tree: list[ModuleNode]) -> set[str]:
    return {p.key for module in tree for resource in module.resources for p in resource.permissions}
