"""The inpatient service's settings as a typed dependency (its own fields, not only the common ones)."""

from __future__ import annotations

from typing import Annotated

from hms.settings import HmsSettings
from shared.state import lifespan_value

Config = Annotated[HmsSettings, lifespan_value("settings")]
