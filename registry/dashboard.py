"""The registry's page at /: apps, instances, their status and leases, recent changes.

Plain server-rendered HTML, Chinese first with English beside it; every value that comes from
a registration is escaped, and only http(s) links are made clickable.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from registry.leases import LeaseStore, LeaseView, Summary
from registry.model import Action, Status
from registry.peers import PeerState
from registry.settings import RegistrySettings

router = APIRouter(tags=["dashboard"])

STATUS_LABELS = {
    Status.UP: "在线 UP",
    Status.DOWN: "下线 DOWN",
    Status.STARTING: "启动中 STARTING",
    Status.OUT_OF_SERVICE: "暂停服务 OUT_OF_SERVICE",
    Status.UNKNOWN: "未知 UNKNOWN",
}
ACTION_LABELS = {Action.ADDED: "注册 ADDED", Action.MODIFIED: "变更 MODIFIED", Action.DELETED: "下线 DELETED"}
PEER_LABELS = {
    "starting": ("启动中 starting", "STARTING"),
    "ok": ("正常 available", "UP"),
    "unreachable": ("不可达 unreachable", "DOWN"),
    "refused": ("拒绝 refused", "OUT_OF_SERVICE"),
    "self": ("本节点 this registry", "self"),
}
# Beyond this the instance list stops (the API has them all); a page of 10,000 rows helps nobody.
MAX_INSTANCE_ROWS = 1000

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}.muted{color:#777}
.s{display:inline-block;padding:0 .4rem;border-radius:3px;color:#fff;background:#888}
.s-UP{background:#2e7d32}.s-DOWN{background:#c62828}.s-STARTING{background:#1565c0}
.s-OUT_OF_SERVICE{background:#ef6c00}.s-self{background:#546e7a}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _time(ms: int, zone: ZoneInfo) -> str:
    if ms <= 0:
        return "—"
    return datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int) -> str:
    seconds = max(0, ms // 1000)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{days} 天 " if days else "") + f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def _status(status: Status) -> str:
    return f'<span class="s s-{_e(status.value)}">{_e(STATUS_LABELS.get(status, status.value))}</span>'


def _link(url: str | None) -> str:
    if not url:
        return '<span class="muted">—</span>'
    if url.lower().startswith(("http://", "https://")):
        return f'<a href="{_e(url)}" rel="noreferrer">{_e(url)}</a>'
    return _e(url)


def _summary_table(summary: Summary, peers: list[PeerState], zone: ZoneInfo) -> str:
    if not summary.self_preservation:
        expiry = "开启 on"
    elif summary.lease_expiration_enabled:
        expiry = "开启 on（自我保护未触发）"
    else:
        expiry = "暂停 paused（自我保护：续约数不高于阈值）"
    rows = [
        ("当前时间 Now", _time(summary.now, zone)),
        ("启动时间 Started", _time(summary.started_at, zone)),
        ("运行时长 Uptime", _duration(summary.now - summary.started_at)),
        ("实例数 Instances", summary.instance_count),
        ("租约到期剔除 Lease expiry", expiry),
        ("自我保护 Self-preservation", "开启 on" if summary.self_preservation else "关闭 off"),
        ("预期续约客户端 Expected clients", summary.expected_clients),
        ("每分钟续约阈值 Renewal threshold", summary.renewal_threshold),
        ("上一分钟续约数 Renews last minute", summary.renews_last_minute),
        ("对等节点 Peers", _peer_counts(peers)),
        ("内存 Memory (RSS)", _memory()),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _peer_counts(peers: list[PeerState]) -> str:
    others = [p for p in peers if p.state != "self"]
    if not others:
        return "无 none"
    up = sum(p.state == "ok" for p in others)
    return f"{len(others)} 个，可用 {up}，不可用 {len(others) - up} ({up}/{len(others)} available)"


def _memory() -> str:
    try:
        pages = int(open("/proc/self/statm").read().split()[1])
    except (OSError, ValueError, IndexError):
        return "—"
    return f"{pages * 4096 / 1024 / 1024:.0f} MiB"


def _peers_table(peers: list[PeerState], zone: ZoneInfo) -> str:
    if not peers:
        return '<p class="muted">未配置对等节点（peer_urls）No peers configured.</p>'
    rows = []
    for p in peers:
        label, css = PEER_LABELS.get(p.state, (p.state, ""))
        rows.append(
            f"<tr><td>{_e(p.url)}</td><td><span class='s s-{_e(css)}'>{_e(label)}</span>"
            f"{f' <span class=muted>{_e(p.detail)}</span>' if p.detail else ''}</td>"
            f"<td>{_time(p.last_success_at or 0, zone)}</td>"
            f"<td>{p.pending}</td><td>{p.sent}</td><td>{p.dropped}</td></tr>"
        )
    head = (
        "<tr><th>节点 Peer</th><th>状态 State</th><th>最近成功 Last success</th><th>待复制 Pending</th>"
        "<th>已复制 Replicated</th><th>已丢弃 Dropped</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _apps_table(leases: list[LeaseView]) -> str:
    if not leases:
        return '<p class="muted">暂无已注册的实例 No instances registered.</p>'
    by_app: dict[str, Counter[Status]] = {}
    for view in leases:
        by_app.setdefault(view.instance.app, Counter())[view.instance.status] += 1
    rows = []
    for app, counts in by_app.items():
        statuses = " ".join(f"{_status(s)} × {n}" for s, n in sorted(counts.items()))
        rows.append(f"<tr><td>{_e(app)}</td><td>{sum(counts.values())}</td><td>{statuses}</td></tr>")
    head = "<tr><th>应用 Application</th><th>实例数 Instances</th><th>状态 Status</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _instances_table(leases: list[LeaseView], now: int, zone: ZoneInfo) -> str:
    if not leases:
        return ""
    rows = []
    for view in leases[:MAX_INSTANCE_ROWS]:
        i = view.instance
        override = (
            f' <span class="muted">覆盖 override: {_e(i.overridden_status.value)}</span>'
            if i.overridden_status != Status.UNKNOWN
            else ""
        )
        address = f"{i.ip_addr}:{i.port.number}" if i.port.enabled else f"{i.ip_addr}:{i.secure_port.number} (https)"
        rows.append(
            "<tr>"
            f"<td>{_e(i.app)}</td><td>{_e(i.instance_id)}</td><td>{_e(i.host_name)}</td>"
            f"<td>{_e(address)}</td><td>{_status(i.status)}{override}</td>"
            f"<td>{_time(i.lease.registration_ts, zone)}</td><td>{_duration(now - i.lease.registration_ts)}</td>"
            f"<td>{_time(i.lease.last_renewal_ts, zone)}</td><td>{_duration(now - i.lease.last_renewal_ts)}</td>"
            f"<td>{_time(view.expires_at, zone)}</td><td>{_link(i.health_check_url)}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>应用 App</th><th>实例 ID Instance</th><th>主机 Host</th><th>地址 Address</th>"
        "<th>状态 Status</th><th>注册时间 Registered</th><th>租约时长 Lease age</th><th>最后续约 Last renewal</th>"
        "<th>距上次续约 Since renewal</th><th>租约到期 Lease expires</th><th>健康检查 Health check</th></tr>"
    )
    more = (
        f'<p class="muted">仅列出前 {MAX_INSTANCE_ROWS} 个，共 {len(leases)} 个；全部见 /eureka/apps '
        f"(first {MAX_INSTANCE_ROWS} of {len(leases)} shown)</p>"
        if len(leases) > MAX_INSTANCE_ROWS
        else ""
    )
    return f"<table>{head}{''.join(rows)}</table>{more}"


def _changes_table(summary: Summary, zone: ZoneInfo) -> str:
    if not summary.recent_changes:
        return '<p class="muted">无 None.</p>'
    rows = "".join(
        f"<tr><td>{_time(c.at, zone)}</td><td>{_e(c.app)}</td><td>{_e(c.instance_id)}</td>"
        f"<td>{_e(ACTION_LABELS.get(c.action, c.action.value))}</td></tr>"
        for c in summary.recent_changes
    )
    head = "<tr><th>时间 Time</th><th>应用 App</th><th>实例 ID Instance</th><th>变更 Change</th></tr>"
    return f"<table>{head}{rows}</table>"


def render_dashboard(store: LeaseStore, peers: list[PeerState], settings: RegistrySettings) -> str:
    zone = ZoneInfo(settings.timezone)
    summary = store.summary()
    leases = store.leases()
    refresh = (
        f'<meta http-equiv="refresh" content="{int(settings.dashboard_refresh_seconds)}">'
        if settings.dashboard_refresh_seconds > 0
        else ""
    )
    retention = int(settings.delta_retention_seconds)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"{refresh}<title>HAMP 服务注册中心</title><style>{STYLE}</style></head><body>"
        "<h1>HAMP 服务注册中心 <span class='muted'>Service registry</span></h1>"
        f"<h2>系统状态 System status</h2>{_summary_table(summary, peers, zone)}"
        f"<h2>对等节点 Peers</h2>{_peers_table(peers, zone)}"
        f"<h2>已注册的应用 Applications</h2>{_apps_table(leases)}"
        f"<h2>实例 Instances</h2>{_instances_table(leases, summary.now, zone)}"
        f"<h2>最近变更 Recent changes <span class='muted'>({retention} 秒内 last {retention} s)</span></h2>"
        f"{_changes_table(summary, zone)}"
        "<p class='muted'>Eureka API: <a href='/eureka/apps'>/eureka/apps</a> "
        f"· 时区 Time zone: {_e(settings.timezone)}</p>"
        "</body></html>"
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(request: Request) -> HTMLResponse:
    state = request.app.state
    html = render_dashboard(state.leases, state.cluster.peers.states(), state.settings)
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )
