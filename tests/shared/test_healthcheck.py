"""`hamp healthcheck`, the image's HEALTHCHECK: it finds each `hamp run <component>` by its command line and
asks its /health on the port it listens on; a component that stops answering fails it, by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.healthcheck import check
from tests.support.servers import ROOT, free_port, wait_http


def test_a_running_component_passes_and_a_hung_one_fails_by_name(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")} | {
        "HAMP_VAR_DIR": str(tmp_path),
        "HAMP_LOG_TO_FILE": "false",
    }
    hamp = Path(sys.executable).with_name("hamp")
    process = subprocess.Popen(
        [str(hamp), "run", "registry", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=60)
        assert check(timeout=2) is None
        process.send_signal(signal.SIGSTOP)  # alive, listening, answering nothing: what a HEALTHCHECK is for
        problem = check(timeout=1)
        assert problem and problem.startswith("registry:") and f":{port}/health" in problem
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(timeout=30)
