import tms.api  # noqa: F401  (imports every model, so the metadata is complete)
from shared.migrations import run_env
from tms.db import metadata

run_env(metadata, "tms")
