"""Which permission strings grant which route permission."""

from __future__ import annotations

import pytest

from shared.auth import permission_granted


@pytest.mark.parametrize(
    ("granted", "permission"),
    [
        ({"*"}, "dbs:department:write"),
        ({"dbs:department:read"}, "dbs:department:read"),
        ({"dbs:*"}, "dbs:doctor:write"),
        ({"dbs:department:*"}, "dbs:department:write"),
        ({"oms:visit:read", "dbs:unit:read"}, "dbs:unit:read"),
    ],
)
def test_granted(granted: set[str], permission: str) -> None:
    assert permission_granted(granted, permission)


@pytest.mark.parametrize(
    ("granted", "permission"),
    [
        (set(), "dbs:department:read"),
        ({"dbs:department:read"}, "dbs:department:write"),  # read does not imply write
        ({"dbs:department:write"}, "dbs:department:read"),  # nor write read
        ({"dbs:department:read"}, "dbs:doctor:read"),
        ({"dbs:department:*"}, "dbs:doctor:read"),
        ({"oms:*"}, "dbs:unit:read"),
        ({"dbs"}, "dbs:unit:read"),  # a bare prefix is not a wildcard
        ({"dbs:depart*"}, "dbs:department:read"),  # nor is a partial word
        ({"dbs:department:read:*"}, "dbs:department:read"),
    ],
)
def test_not_granted(granted: set[str], permission: str) -> None:
    assert not permission_granted(granted, permission)
