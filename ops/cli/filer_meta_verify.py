"""`kelp filer.meta.verify -filer=f1:8888[,f2:8888] -config=backup_filer.toml [-filerPath=/]
[-show=10]`: compare a filer's metadata with the standby store filer.meta.backup keeps.

Prints the number of entries on each side and of differences, then the first -show differences
("missing in standby", "only in standby", "differs (fields ...)"). Exit 0 when they are the same,
1 when they differ or a side cannot be read, 2 for a usage or backup_filer.toml mistake.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc

from controlplane.filer.backup.filers import FilerSet, rpc_reason
from controlplane.filer.backup.standby import Standby
from controlplane.filer.backup.verify import VerifyReport, verify
from controlplane.filer.store import StoreError, open_store
from controlplane.shell.flags import FlagSet, host_ports, parse_or_exit
from dataplane.client.addresses import ServerAddress
from kelp_http.eventloop import run as run_event_loop
from ops.cli.backup_args import backup_target

SUMMARY = "compare a filer's metadata with its standby store and list the differences"


def main(argv: list[str]) -> int:
    fs = FlagSet("filer.meta.verify", SUMMARY,
                 example="kelp filer.meta.verify -filer=127.0.0.1:8888 -config=backup_filer.toml")
    fs.strings("filer", (), "the primary filer, host:port (the first that answers is used)", check=host_ports)
    fs.string("config", "backup_filer.toml", "the standby store (as given to filer.meta.backup)")
    fs.string("filerPath", "/", "the tree to compare", aliases=("filerDir",))
    fs.integer("show", 10, "differences to print at most", minimum=0, maximum=20)
    flags = parse_or_exit(fs, argv)
    command = "kelp filer.meta.verify"
    root, config = backup_target(flags, command)
    if config.store.kind == "sqlite" and not Path(config.store.path).expanduser().exists():
        # Opening it would create an empty file, racing filer.meta.backup's own creation of it.
        sys.stderr.write(f"{command}: standby store {config.store.path} does not exist yet "
                         "(has filer.meta.backup run with this -config?)\n")
        return 1
    try:
        store = open_store(config.store, migrate=False)
    except StoreError as err:
        sys.stderr.write(f"{command}: standby store {config.store.target()}: {err}\n")
        return 1
    filers = FilerSet([ServerAddress.parse(text) for text in flags.texts("filer")])
    try:
        report = run_event_loop(_verify(filers, Standby(store), root))
    except grpc.RpcError as err:
        sys.stderr.write(f"{command}: filer {filers.current}: {rpc_reason(err)}\n")
        return 1
    except StoreError as err:
        sys.stderr.write(f"{command}: standby store: {err}\n")
        return 1
    finally:
        store.close()
    sys.stdout.write(f"primary {report.entries_primary} entries, standby {report.entries_standby} entries "
                     f"under {root}: {report.differences} differences\n")
    for difference in report.samples[:flags.integer("show")]:
        sys.stdout.write(f"  {difference}\n")
    return 0 if report.differences == 0 else 1


async def _verify(filers: FilerSet, standby: Standby, root: str) -> VerifyReport:
    try:
        return await verify(filers, standby, root)
    finally:
        await filers.close()
