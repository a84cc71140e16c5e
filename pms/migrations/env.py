import pms.api  # noqa: F401  (imports every model, so the metadata is complete)
from pms.db import metadata
from shared.migrations import run_env

run_env(metadata, "pms")
