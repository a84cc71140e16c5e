"""Write each service's OpenAPI document to gateway/console/openapi/<service>.json.

The console's API types (src/api/generated/, `npm run api-types`) are generated from these
files, so a changed endpoint shows up as a type error in the console instead of at run time.
Each app is built with its factory and default settings; no server starts and no database
is opened (the lifespan never runs).

    .venv/bin/python gateway/console/scripts/export_openapi.py          # write
    .venv/bin/python gateway/console/scripts/export_openapi.py --check  # exit 1 when stale
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).resolve().parents[1] / "openapi"
# The services whose APIs the console calls; the registry is internal.
SERVICES = ("gateway", "dbs", "dms", "oms", "pms", "sms", "hms", "tms")


def document(service: str) -> str:
    main = importlib.import_module(f"{service}.main")
    app = main.create_app(main.settings_class())
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when a file differs")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    stale = []
    for service in SERVICES:
        path = OUT / f"{service}.json"
        text = document(service)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale OpenAPI documents (run gateway/console/scripts/export_openapi.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
