import hms.api  # noqa: F401  (imports every model, so the metadata is complete)
from hms.db import metadata
from shared.migrations import run_env

run_env(metadata, "hms")
