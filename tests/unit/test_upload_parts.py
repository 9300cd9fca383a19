"""Multipart part sizes chosen from the file size: the configured part up to 10,000 parts' worth,
then the smallest whole MiB that fits the file in 10,000 parts (S3's and OSS's limit), so one file is
no longer capped at 78 GiB by the default 8 MiB part."""

from __future__ import annotations

import pytest

from modelport.storage.opendal_models import MAX_PART_BYTES, MAX_PARTS, MIB, UploadOptions

GIB = 1024 * MIB
DEFAULT = UploadOptions()


@pytest.mark.parametrize("size", [0, 1, 8 * MIB, GIB, 16 * GIB, 8 * MIB * MAX_PARTS])
def test_files_that_fit_in_10000_parts_use_the_configured_part(size: int) -> None:
    assert DEFAULT.part_bytes_for(size) == DEFAULT.part_bytes == 8 * MIB


@pytest.mark.parametrize("size", [8 * MIB * MAX_PARTS + 1, 100 * GIB, 1000 * GIB, 5 * 1024 * GIB, 48 * 1024 * GIB])
def test_larger_files_get_the_smallest_whole_mib_part_that_fits_them(size: int) -> None:
    part = DEFAULT.part_bytes_for(size)
    assert part % MIB == 0
    assert part > DEFAULT.part_bytes
    assert -(-size // part) <= MAX_PARTS  # every byte fits
    assert -(-size // (part - MIB)) > MAX_PARTS  # and one MiB less would not


def test_a_configured_larger_part_is_kept_and_the_part_never_exceeds_5_gib() -> None:
    assert UploadOptions(part_bytes=64 * MIB).part_bytes_for(100 * GIB) == 64 * MIB
    assert DEFAULT.part_bytes_for(100 * 1024 * GIB) == MAX_PART_BYTES  # past S3's 5 TiB object limit anyway


def test_a_100_gib_file_needs_11_mib_parts() -> None:
    assert DEFAULT.part_bytes_for(100 * GIB) == 11 * MIB  # 100 GiB / 10,000 = 10.24 MiB
