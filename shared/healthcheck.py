"""`hamp healthcheck`: the container image's HEALTHCHECK.

Every `hamp run <component>` in this container (its processes, read from /proc) must answer GET /health
on the port it listens on, found the way the component finds it: `--port`, else its settings
(HAMP_<COMPONENT>_PORT, HAMP_PORT, the default). Kubernetes uses the chart's probes instead.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from shared import components


def _running() -> Iterator[tuple[str, int | None]]:
    """(component, --port or None) of every `hamp run <component>` process but this one."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone meanwhile
        for i, word in enumerate(argv[1:-1], start=1):
            if word == "run" and argv[i + 1] in components.ALL and argv[i - 1].endswith("hamp"):
                port = argv[argv.index("--port") + 1] if "--port" in argv[:-1] else None
                yield argv[i + 1], int(port) if port else None
                break


def check(timeout: float = 4.0) -> str | None:
    """None when every component here is healthy, else why not."""
    checked = 0
    for name, port in _running():
        settings = components.settings_class(name)()
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        url = f"http://{host}:{port or settings.port}/health"
        try:
            urllib.request.urlopen(url, timeout=timeout).read()
        except OSError as exc:
            return f"{name}: {url}: {exc}"
        checked += 1
    return None if checked else "no `hamp run <component>` in this container"
