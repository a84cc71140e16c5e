"""The one list of the master-data service's routers."""

from __future__ import annotations

from dbs.charges.router import routers as charges
from dbs.drugs.router import routers as drugs
from dbs.logistics.router import routers as logistics
from dbs.organization.router import routers as organization

routers = [*organization, *drugs, *charges, *logistics]
