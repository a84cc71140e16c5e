"""README stays true: its settings section is what the code declares."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.servers import ROOT


def test_readme_lists_every_setting_with_its_default() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "shared.cli", "settings"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- settings:begin -->(.*)<!-- settings:end -->", readme, re.S)
    assert block, "README lost its settings markers"
    assert block.group(1).strip() == generated, "README's settings are stale: paste `hamp settings` output"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [
        ["./hamp", "up"],
        ["./hamp", "test"],
    ]
