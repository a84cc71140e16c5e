"""oms's own settings as a typed dependency, for what only oms has (the hospital's name on
receipts and reports, the largest exam file); the common parts are in shared/state.py."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends

from oms.settings import OmsSettings
from shared.state import Settings


async def oms_settings_of(settings: Settings) -> OmsSettings:
    return cast(OmsSettings, settings)


OmsConfig = Annotated[OmsSettings, Depends(oms_settings_of)]
