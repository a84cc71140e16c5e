"""通知公告: notices an administrator writes to everyone or to chosen roles and departments, and
who opened them (read receipts)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Input
from sqlalchemy import String
from sqlalchemy import Text as LongText
from sqlmodel import Field

from gateway.db import GatewayTable
from shared.types import UTCDateTime


class Audience(StrEnum):
    ALL = "all"  # every account
    CHOSEN = "chosen"  # holders of the chosen roles and members of the chosen departments


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Notice(GatewayTable, table=True):
    __tablename__ = "notices"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    body: str = Field(sa_type=LongText)
    audience: Audience = Field(sa_type=String(16))
    status: NoticeStatus = Field(default=NoticeStatus.DRAFT, sa_type=String(16), index=True)
    created_by_id: int
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NoticeRole(GatewayTable, table=True):
    __tablename__ = "notice_roles"

    notice_id: int = Field(foreign_key="notices.id", primary_key=True)
    role_id: int = Field(foreign_key="roles.id", primary_key=True, index=True)


class NoticeDepartment(GatewayTable, table=True):
    __tablename__ = "notice_departments"

    notice_id: int = Field(foreign_key="notices.id", primary_key=True)
    # A dbs department id (no cross-service key), compared with users.department_id.
    department_id: int = Field(primary_key=True, index=True)


class NoticeRead(GatewayTable, table=True):
    """A read receipt: the first time a user opened the notice; later openings change nothing."""

    __tablename__ = "notice_reads"

    notice_id: int = Field(foreign_key="notices.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    read_at: datetime = Field(sa_type=UTCDateTime)


# --- what the API takes and answers ---


class NoticeIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    title: str = Input(min_length=1, max_length=100)
    body: str = Input(min_length=1, max_length=5000)
    audience: Audience = Audience.ALL
    role_ids: list[int] = Input(default_factory=list, max_length=200)
    department_ids: list[int] = Input(default_factory=list, max_length=200)
    # True: published at once; False: kept as a draft to publish later.
    publish: bool = False


class NoticeOut(BaseModel):
    id: int
    title: str
    body: str
    audience: Audience
    role_ids: list[int]
    department_ids: list[int]
    status: NoticeStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    withdrawn_at: datetime | None
    # Of the accounts addressed now, how many opened it (0 for a draft).
    audience_count: int = 0
    read_count: int = 0


class InboxNotice(BaseModel):
    id: int
    title: str
    body: str
    created_by: str
    published_at: datetime
    read_at: datetime | None


class Reader(BaseModel):
    user_id: int
    username: str
    real_name: str
    read_at: datetime | None


class Receipts(BaseModel):
    notice_id: int
    audience_count: int
    read_count: int
    # Who opened it (first opening, earliest first), then who has not yet.
    read: list[Reader]
    unread: list[Reader]
