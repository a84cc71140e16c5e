"""Masking personal data (ID-card and phone numbers) for callers without `pii:read`."""

from __future__ import annotations

PII_PERMISSION = "pii:read"


def mask_phone(value: str | None) -> str | None:
    """138****5678; landlines keep their area code and last four digits."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_id_card(value: str | None) -> str | None:
    """1101**********1234: region prefix and last four, never the birth date."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


MASKS = {"phone": mask_phone, "id_card": mask_id_card}
