"""Checking an uploaded file by what it holds, not by what its name or the browser claim.

A report named `report.pdf` may be an HTML page (a script waiting for whoever opens it); a
scanned page saved as PNG may be named `.pdf`. The content type stored and served back is
the one its first bytes prove.
"""

from __future__ import annotations

from shared.errors import Invalid, field_error
from shared.i18n import Text

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"

# Exam reports and scanned documents.
REPORT_TYPES = frozenset({PDF, PNG, JPEG})

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
)
_NAMES = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG"}
# Enough of a name to recognise the file; a pasted megabyte of name is not repeated back.
_NAME_SHOWN = 100
FIELD = "files"


def detect_type(data: bytes) -> str | None:
    """The content type the first bytes prove, or None."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB".replace(".0 ", " ")
    if count >= 1024:
        return f"{count / 1024:.1f} KB".replace(".0 ", " ")
    return f"{count} B"


def _refuse(code: str, message: Text) -> Invalid:
    return Invalid(message, code=code, errors=[field_error(FIELD, message, code)])


def check_upload(data: bytes, filename: str, max_bytes: int, allowed: frozenset[str] = REPORT_TYPES) -> str:
    """The content type of `data` if it is one of `allowed` and at most `max_bytes` long; else
    Invalid (422, code `file_type` or `file_too_large`) naming the file."""
    name = filename[:_NAME_SHOWN] or "?"
    if not data:
        raise _refuse("file_type", Text(f"文件“{name}”是空的", f"File '{name}' is empty"))
    if len(data) > max_bytes:
        raise _refuse(
            "file_too_large",
            Text(
                f"文件“{name}”大小为 {_size(len(data))}，超过上限 {_size(max_bytes)}",
                f"File '{name}' is {_size(len(data))}, larger than the limit of {_size(max_bytes)}",
            ),
        )
    content_type = detect_type(data)
    if content_type is None or content_type not in allowed:
        kinds = "、".join(sorted(_NAMES.get(t, t) for t in allowed))
        kinds_en = ", ".join(sorted(_NAMES.get(t, t) for t in allowed))
        raise _refuse(
            "file_type",
            Text(
                f"文件“{name}”的内容不是允许的类型（{kinds}）",
                f"The content of file '{name}' is not an allowed type ({kinds_en})",
            ),
        )
    return content_type
