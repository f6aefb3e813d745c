"""The compact map's memory: process RSS growth for 1,000,000 needles stays <= 40 B each.

SeaweedFS measured ~38 B per needle; a dict per needle costs ~100 B. Measured in a fresh
interpreter so other tests' heap does not hide or inflate the growth.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
NEEDLES = 1_000_000
BYTES_PER_NEEDLE_LIMIT = 40
TIMEOUT_S = 60  # the measurement takes ~1 s; a loaded 2-core machine gets headroom

SCRIPT = f"""
from dataplane.volume.engine.needle_map import CompactNeedleMap

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

m = CompactNeedleMap()
m.put(1, 1, 1)
before = rss()
for k in range(2, {NEEDLES} + 2):
    m.put(k, k * 3, 1024)
for k in range(2, {NEEDLES} + 2, 97):  # some deletes and overwrites too
    m.delete(k, 5)
after = rss()
assert m.get({NEEDLES} // 2) is not None
print((after - before) / {NEEDLES})
"""


def test_rss_per_needle_for_one_million_needles() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True,
                         timeout=TIMEOUT_S, check=True)
    per_needle = float(out.stdout.strip())
    assert 0 < per_needle <= BYTES_PER_NEEDLE_LIMIT, per_needle
