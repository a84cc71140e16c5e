import sms.api  # noqa: F401  (imports every model, so the metadata is complete)
from shared.migrations import run_env
from sms.db import metadata

run_env(metadata, "sms")
