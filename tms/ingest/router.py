from __future__ import annotations

from fastapi import APIRouter

from shared.auth import requires
from shared.db import ReadSession
from shared.i18n import Text
from tms.config import Config
from tms.ingest import service
from tms.ingest.models import FeedState

router = APIRouter(prefix="/api/tms/feeds", tags=["feeds 数据同步"])
READ = requires("tms:feed:read", Text("数据同步", "feed ingestion"))


@router.get("", response_model=list[FeedState], summary="How far each service's feed has been applied", **READ)
async def feeds(session: ReadSession, settings: Config) -> list[FeedState]:
    return await service.states(session, settings.feed_sources)
