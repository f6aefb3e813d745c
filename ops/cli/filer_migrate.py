"""`kelp filer.migrate [-config.dir=DIR] [-dir=DIR]`: bring the filer store's schema to the newest
revision (Alembic, migrations/) and exit, without starting a filer. The store comes from filer.toml
(found as weed finds it, or in -config.dir), else SQLite at <-dir>/filer.db, as `kelp filer` picks.

Prints one line: the database (no password) and its revision before and after. Exit 0 on success,
1 if the database cannot be used, 2 for a usage or filer.toml mistake.
"""

from __future__ import annotations

import logging
import sys

from controlplane.filer.config import FilerConfigError, find_filer_toml, load_store_config
from controlplane.filer.store import StoreError, migrate_store
from controlplane.shell.flags import FlagSet, exit_with_error, parse_or_exit

SUMMARY = "apply the filer store's schema migrations (filer.toml's database) and exit"
log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    fs = FlagSet("filer.migrate", SUMMARY, example="kelp filer.migrate -config.dir=/etc/kelp")
    fs.string("config.dir", "", "directory holding filer.toml (default: weed's search: ., ~/.seaweedfs, ...)")
    fs.string("dir", ".", "directory of the default SQLite store (filer.db) when filer.toml names none")
    flags = parse_or_exit(fs, argv)
    config_dir = flags.text("config.dir")
    toml = find_filer_toml(config_dir)
    if config_dir and toml is None:
        exit_with_error(f"kelp filer.migrate: no filer.toml in {config_dir}")
    try:
        settings = load_store_config(toml, default_dir=flags.text("dir"))
    except FilerConfigError as err:
        exit_with_error(f"kelp filer.migrate: {err}")
    for warning in settings.warnings:
        sys.stderr.write(f"kelp filer.migrate: warning: {warning}\n")
    target = settings.store.target()
    try:
        before, after = migrate_store(settings.store)
    except StoreError as err:
        sys.stderr.write(f"kelp filer.migrate: {err}\n")
        return 1
    if before == after:
        sys.stdout.write(f"{target}: schema already at revision {after}\n")
    else:
        sys.stdout.write(f"{target}: schema migrated from revision {before or 'none'} to {after}\n")
    return 0
