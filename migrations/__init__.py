"""kelp's filer schema migrations (Alembic): a package only so an installed kelp can find them.

`controlplane/filer/store/migrate.py` locates this directory with importlib.resources and hands it
to Alembic as its script location; Alembic loads env.py and versions/ itself (by path), so nothing
imports the modules here. The marker below tells kelp this `migrations` package is its own, not
another distribution's of the same name.
"""

from __future__ import annotations

KELP_FILER_MIGRATIONS = True
