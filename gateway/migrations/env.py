import gateway.system.models  # noqa: F401  (imports every model, so the metadata is complete)
from gateway.db import metadata
from shared.migrations import run_env

run_env(metadata, "gateway")
