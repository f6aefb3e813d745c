"""The flags kelp filer.meta.backup and kelp filer.meta.verify share: -filer, -filerPath, -config.

Imports the backup's config loader and the CLI flag helpers only.
"""

from __future__ import annotations

from controlplane.filer.backup.config import BackupConfig, load_backup_config
from controlplane.filer.backup.errors import BackupConfigError
from controlplane.filer.errors import InvalidPath
from controlplane.filer.paths import normalize
from controlplane.shell.flags import Flags, exit_with_error


def backup_target(flags: Flags, command: str) -> tuple[str, BackupConfig]:
    """The normalized -filerPath and the loaded -config; exits 2 with one line on a mistake."""
    if not flags.texts("filer"):
        exit_with_error(f"{command}: -filer is required (e.g. -filer=127.0.0.1:8888)")
    try:
        root = normalize(flags.text("filerPath"))
    except InvalidPath as err:
        exit_with_error(f"{command}: -filerPath: {err}")
    try:
        config = load_backup_config(flags.text("config"))
    except BackupConfigError as err:
        exit_with_error(f"{command}: {err}")
    return root, config
