"""`weed benchmark`'s text report is read into per-phase numbers (the real 4.48 layout)."""

from __future__ import annotations

from ops.bench.compare import parse_weed_benchmark

REPORT = """This is SeaweedFS version 8000GB 4.48 pypi linux amd64

------------ Writing Benchmark ----------
Completed 1993 of 2000 requests, 99.7% 1992.5/s 2.0MB/s

Concurrency Level:      8
Time taken for tests:   1.007 seconds
Completed requests:      2000
Failed requests:        3
Requests per second:    1985.34 [#/sec]

------------ Randomly Reading Benchmark ----------

Concurrency Level:      8
Completed requests:      1997
Failed requests:        0
Requests per second:    19690.67 [#/sec]
"""


def test_both_phases_are_read() -> None:
    out = parse_weed_benchmark(REPORT)
    assert out == {
        "write": {"completed": 2000.0, "failed": 3.0, "req_per_s": 1985.34},
        "read": {"completed": 1997.0, "failed": 0.0, "req_per_s": 19690.67},
    }


def test_a_report_without_sections_gives_nothing() -> None:
    assert parse_weed_benchmark("error: no master") == {}
