"""The backup's position, kept in the standby store's kv space under CHECKPOINT_KEY.

It is written in the same transaction as the entries it covers (standby.py), so after a kill -9
the standby holds exactly the changes up to the checkpoint: never one the checkpoint claims and
the entries lack, never an applied change the checkpoint does not cover.

`ts_ns` is the resume time: the ts_ns of the last event applied, in stream order (or, right after
a traversal, the time the stream must start from). The filer maps a since_ns to the first change
whose running-maximum time reaches it, so every change after the one applied last comes again,
late commits and other filers' clocks included; the few before it that come along were applied
already and are applied again in order, which leaves the same rows (events.py). `last_event` is a
digest of that last event (its time, directory and names) so logs and tests can name it exactly;
`events_applied` counts events applied since the traversal.

Pure: JSON in and out, no store access.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

CHECKPOINT_KEY = b"kelp.filer.meta.backup.checkpoint"
FORMAT_VERSION = 1


class BadCheckpoint(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"the standby's checkpoint cannot be read ({reason}): run with -restart")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Checkpoint:
    ts_ns: int  # resume from here (SubscribeMetadata since_ns)
    filer_path: str  # the tree backed up (-filerPath)
    traversal_start_ns: int  # when the traversal that seeded the standby began
    events_applied: int = 0  # events applied since that traversal
    last_event: str = ""  # digest of the last event applied ("" right after a traversal)
    filer: str = ""  # the filer that event came from (for logs)

    def encode(self) -> bytes:
        return json.dumps({"version": FORMAT_VERSION, **asdict(self)}, sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Checkpoint:
        try:
            data = json.loads(raw)
            if data.pop("version") != FORMAT_VERSION:
                raise BadCheckpoint("unknown format version")
            return cls(ts_ns=int(data["ts_ns"]), filer_path=str(data["filer_path"]),
                       traversal_start_ns=int(data["traversal_start_ns"]),
                       events_applied=int(data.get("events_applied", 0)),
                       last_event=str(data.get("last_event", "")), filer=str(data.get("filer", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            if isinstance(err, BadCheckpoint):
                raise
            raise BadCheckpoint(f"{type(err).__name__}: {err}") from err


def event_digest(ts_ns: int, directory: str, old_name: str, new_parent: str, new_name: str) -> str:
    """A short stable name of one event (the serving filer's signature, which differs between
    filers of one database, is left out)."""
    text = "\x00".join((str(ts_ns), directory, old_name, new_parent, new_name))
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
