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


def test_readme_gives_it_the_commands_its_documents_give() -> None:
    """Each command block of the IT section names the document it is copied from; the document's own test
    runs those commands in CI, so a block that drifts from its document is a command nobody ran."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- from (\S+) -->\n```bash\n(.*?)```", readme, re.S)
    assert len(blocks) >= 6, "README's IT section lost its command blocks"
    for source, block in blocks:
        document = (ROOT / source).read_text()
        for line in block.strip().splitlines():
            assert line in document, f"README gives IT `{line}`, which {source} does not"
