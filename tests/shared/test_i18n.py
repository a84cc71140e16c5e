"""Which language an answer is in, from Accept-Language."""

from __future__ import annotations

import pytest

from shared.i18n import Text, pick_language, render


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("EN-gb", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR, en;q=0.5, zh;q=0.1", "en"),  # the best supported one, not the first
        ("en;q=0.1, zh", "zh"),  # quality decides, not order
        ("de, fr", "zh"),  # nothing supported: Chinese
        ("en;q=abc, zh;q=0.5", "zh"),  # a broken quality counts as 0
    ],
)
def test_pick_language(header: str | None, expected: str) -> None:
    assert pick_language(header) == expected


def test_render_text_in_either_language() -> None:
    label = Text("科室", "department")
    assert (render(label, "zh"), render(label, "en")) == ("科室", "department")
    assert render("plain", "en") == "plain"
