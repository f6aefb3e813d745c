"""Appends past the addressable maximum (32 GiB / 8 TiB) are refused with VolumeFull."""

from __future__ import annotations

import pytest

from dataplane.volume.engine.errors import VolumeFull
from dataplane.volume.engine.idx import IdxFormat

from .builders import upload
from .conftest import VolumeFactory


@pytest.mark.parametrize(("large", "limit"), [(False, 32 << 30), (True, 8 << 40)])
def test_append_past_the_maximum_offset_is_refused(make_volume: VolumeFactory, large: bool,
                                                   limit: int) -> None:
    v = make_volume(IdxFormat(large))
    v.write(upload(1, b"fits"))
    v._dat_end = limit - 32  # pretend the volume is nearly full (no 32 GiB file needed)
    with pytest.raises(VolumeFull) as info:
        v.write(upload(2, b"does not fit"))
    assert (info.value.offset, info.value.max_size) == (limit - 32, limit)
    assert v.read(1, 0x12345678).data == b"fits"
    v.close()
