"""The gateway's routers, in matching order: its own API, then the proxy, then the console."""

from __future__ import annotations

from gateway import console_files
from gateway.auth.router import router as auth
from gateway.db import audit_log
from gateway.docs import router as docs
from gateway.proxy.router import router as proxy
from gateway.system.applogs.router import router as app_logs
from gateway.system.exports.router import router as exports
from gateway.system.logs.router import router as logs
from gateway.system.notices.router import router as notices
from gateway.system.notifications.router import router as notifications
from gateway.system.outbox.router import router as outbox
from gateway.system.policy.router import router as policy
from gateway.system.roles.router import router as roles
from gateway.system.users.router import router as users
from gateway.system.users.service import PERSONAL
from shared.audit_router import audit_router

routers = [
    auth,
    users,
    roles,
    logs,
    app_logs,
    outbox,
    exports,
    policy,
    notices,
    notifications,
    audit_router("system", audit_log, PERSONAL),
    docs,
    proxy,
    console_files.router,
]
