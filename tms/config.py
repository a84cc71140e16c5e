"""The statistics service's settings as a typed dependency (its own fields, not only the common ones)."""

from __future__ import annotations

from typing import Annotated

from shared.state import lifespan_value
from tms.settings import TmsSettings

Config = Annotated[TmsSettings, lifespan_value("settings")]
