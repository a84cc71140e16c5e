"""Uploads are typed by their content and limited in size, whatever their name says."""

from __future__ import annotations

import pytest

from shared.errors import Invalid
from shared.i18n import Text
from shared.uploads import JPEG, PDF, PNG, REPORT_TYPES, check_upload

PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
HTML_BYTES = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
LIMIT = 1024


def refusal(data: bytes, filename: str, max_bytes: int = LIMIT, **kwargs: object) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check_upload(data, filename, max_bytes, **kwargs)
    problem = caught.value
    assert problem.status == 422
    assert [e["field"] for e in problem.errors] == ["files"]
    assert problem.errors[0]["code"] == problem.code
    return problem


def both(problem: Invalid) -> tuple[str, str]:
    assert isinstance(problem.detail, Text)
    return problem.detail.zh, problem.detail.en


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (PDF_BYTES, "report.pdf", PDF),
        (PNG_BYTES, "scan.png", PNG),
        (JPEG_BYTES, "photo.jpg", JPEG),
        (JPEG_BYTES, "photo.JPEG", JPEG),
        (JPEG_BYTES, "no-extension", JPEG),
    ],
)
def test_allowed_content_is_accepted_with_its_type(data: bytes, filename: str, expected: str) -> None:
    assert check_upload(data, filename, LIMIT) == expected


def test_a_png_named_pdf_is_accepted_as_png() -> None:
    assert check_upload(PNG_BYTES, "report.pdf", LIMIT) == PNG


def test_html_named_pdf_is_refused() -> None:
    problem = refusal(HTML_BYTES, "report.pdf")
    assert problem.code == "file_type"
    zh, en = both(problem)
    assert "report.pdf" in zh and "report.pdf" in en
    assert "PDF" in en and "PNG" in en and "JPEG" in en


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 20,
        b"PK\x03\x04 a zip or docx",
        b" %PDF-1.7 with a blank before it",
        b"%PD",  # a truncated signature
        b"\x89PNG\r\n",
    ],
)
def test_other_content_is_refused_as_file_type(data: bytes) -> None:
    assert refusal(data, "x.pdf").code == "file_type"


def test_an_empty_file_is_refused() -> None:
    problem = refusal(b"", "empty.pdf")
    assert problem.code == "file_type"
    zh, en = both(problem)
    assert "empty.pdf" in zh and "空" in zh
    assert "empty" in en


def test_a_file_over_the_limit_is_refused() -> None:
    problem = refusal(PDF_BYTES + b"\x00" * (10 * 1024 * 1024), "big.pdf", max_bytes=10 * 1024 * 1024)
    assert problem.code == "file_too_large"
    zh, en = both(problem)
    assert "big.pdf" in zh and "10 MB" in zh
    assert "big.pdf" in en and "10 MB" in en


def test_the_limit_itself_is_allowed() -> None:
    data = PDF_BYTES + b"\x00" * (LIMIT - len(PDF_BYTES))
    assert len(data) == LIMIT
    assert check_upload(data, "exact.pdf", LIMIT) == PDF
    assert refusal(data + b"\x00", "over.pdf").code == "file_too_large"


def test_only_the_allowed_types_pass() -> None:
    assert REPORT_TYPES == frozenset({PDF, PNG, JPEG})
    images = frozenset({PNG, JPEG})
    assert check_upload(PNG_BYTES, "a.png", LIMIT, images) == PNG
    problem = refusal(PDF_BYTES, "a.pdf", allowed=images)
    assert problem.code == "file_type"
    assert "PDF" not in both(problem)[1].split("(")[1]


def test_a_very_long_name_is_shortened_in_the_message() -> None:
    zh, en = both(refusal(HTML_BYTES, "a" * 5000 + ".pdf"))
    assert len(en) < 300 and len(zh) < 300
