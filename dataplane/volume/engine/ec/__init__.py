"""Erasure coding for sealed volumes: SeaweedFS 4.48's EC files, byte for byte.

Storage engine only: synchronous, file I/O, no network, asyncio or grpc imports. A volume
server adapter calls these from worker threads (encoding is CPU and disk bound) and supplies
remote shard reads as a plain callable.

Files of volume `<base name>` (`<collection>_<vid>`, or `<vid>`):
`.ec00`-`.ec13` shards (10 data + 4 parity), `.ecx` sorted needle index, `.ecj` deletion
journal, `.vif` volume info with `ecShardConfig` (datFileSize and, for weed 4.48's uniform
layout, blockSize). weed 4.48 also writes a `.ecsum` bitrot sidecar; kelp neither writes nor
needs it (a server should copy it along with the shards when present).

API (module: names):

* codec: `ReedSolomon(data_shards=10, parity_shards=4, backend="auto"|"isal"|"numpy")` with
  `.encode(data, parity)` and `.reconstruct({shard: array}, wanted, outputs)` over equal-length
  uint8 arrays; `as_array(bytes_like)`; `KELP_EC_BACKEND` forces a backend.
* geometry: `Layout` (`.uniform(dat_size)` = weed 4.48, `.legacy(dat_size)` = older weed,
  `.locate(offset, length) -> [Interval(shard, shard_offset, length)]`, `.shard_size`,
  `.rows()`), `shard_ext(i)`, the constants DATA_SHARDS, PARITY_SHARDS, TOTAL_SHARDS.
* encoder: `encode_volume(base, fmt=IdxFormat, out_dir=None, layout="uniform")
  -> EncodeResult` writes `.ecx` (next to `.idx`), the 14 shards and `.vif`. The volume must be
  read-only first. Shards are renamed into place only when all are whole, so concurrent or
  crashed encoders never leave mixed bytes.
* ec_volume: `EcVolume(vid, collection, directories, fmt=...)` opens what a server holds (shards
  in any of its directories): `.read_needle(key, cookie, fetch)`, `.locate(key)`,
  `.read_range`, `.read_shard(shard, offset, length)` (serve a peer), `.delete_needle(key,
  cookie)` / `.journal_delete(key)` (a replicated delete), `.is_deleted`, `.apply_journal()`,
  `.add_shard/.remove_shard/.rescan` (mount, unmount), `.shard_ids`, `.counts()`.
  `fetch(shard, offset, length) -> bytes | None` is how the server reads other servers'
  shards; a needle on a missing shard is reconstructed from any ten.
* rebuild: `rebuild_shards(base_name, directories, out_dir=None, only=None) -> RebuildResult`
  writes every missing shard from any ten present (streamed; shards may sit in several
  directories). Fold the journal in first (`index.apply_journal`), as weed does.
* decoder: `decode_volume(base_name, directories, fmt=...) -> DecodeResult` writes `.dat` and
  `.idx` from any ten shards, honouring `.ecj`; vacuum the volume afterwards to drop the bytes
  of needles deleted while encoded.
* index: `write_ecx_from_idx`, `EcIndex` (binary search, `mark_deleted`), `Journal`,
  `read_journal`, `apply_journal(ecx, ecj, fmt)`.
* info: `EcConfig`, `ec_volume_info(...)`, `ec_config(VolumeInfo)`, `layout_for(VolumeInfo, shard_size)`.
* errors: `TooFewShards`, `ShardSizeMismatch`, `ShardReadError`, `EcIndexMissing`,
  `CorruptEcIndex`, `EcBackendUnavailable`, `SingularMatrix` (all `EcError`, an `EngineError`);
  needle lookups raise the engine's `NeedleNotFound` / `CookieMismatch` / `CorruptNeedle`.
"""
