"""System notifications: one row per occurrence of something users must be told about, and who
has read it. Whom a notification reaches is decided when it is read, by the permission it names."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from gateway.db import GatewayTable
from shared.types import UTCDateTime


class Kind(StrEnum):
    LOW_STOCK = "low_stock"  # 库存不足 (warehouse)
    EXPIRING = "expiring"  # 过期提醒 (warehouse, pharmacy)
    LOW_DEPOSIT = "low_deposit"  # 预交款不足 (inpatient)
    STUCK_MESSAGES = "stuck_messages"  # 消息积压 (any module's outbox)
    ACCOUNT_LOCKED = "account_locked"  # 账号锁定 (security administrators)


class Notification(GatewayTable, table=True):
    """One occurrence: raised the first time its thing (`key`) is seen, closed when it is gone.
    The thing seen again later is occurrence `seq` + 1. (key, seq) is unique, so two gateways
    raising the same occurrence at once insert one row between them."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("key", "seq", name="uq_notifications_occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32), index=True)
    # What it is about, e.g. "sms:low_stock:12" (drug 12 in the warehouse).
    key: str = Field(max_length=120)
    seq: int
    # A user receives it iff they hold this permission.
    permission: str = Field(max_length=100, index=True)
    # Set when the thing belongs to a department (a stay's): users limited to other departments
    # do not receive it.
    department_id: int | None = None
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    body_zh: str = Field(default="", max_length=500)
    body_en: str = Field(default="", max_length=500)
    # The console page that shows it (a route path).
    link: str = Field(default="", max_length=255)
    raised_at: datetime = Field(sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class NotificationRead(GatewayTable, table=True):
    __tablename__ = "notification_reads"

    notification_id: int = Field(foreign_key="notifications.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    read_at: datetime = Field(sa_type=UTCDateTime)


class NotificationOut(BaseModel):
    id: int
    kind: Kind
    title: str
    body: str
    link: str
    raised_at: datetime
    # Set once the thing is gone (stock replenished, deposit paid, message delivered, unlocked).
    closed_at: datetime | None
    read_at: datetime | None


class UnreadCount(BaseModel):
    notices: int
    notifications: int
    total: int
