"""Writing files safely (pipeline.core.files): a new file never overwrites another, and a file
written again replaces the old one whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.core.files import replacing, write_new_file


def test_a_new_file_never_overwrites_one_of_the_same_name(tmp_path: Path) -> None:
    first = write_new_file(tmp_path, "paper.docx", b"first")
    second = write_new_file(tmp_path, "paper.docx", b"second")
    assert (first.name, second.name) == ("paper.docx", "paper-2.docx")
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert write_new_file(tmp_path, "paper.docx", b"second", reuse_identical=True) == second


def test_a_replacement_cut_short_leaves_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(b"the old pack")
    with pytest.raises(OSError), replacing(path) as temporary:
        temporary.write_bytes(b"half of the")
        raise OSError(28, "No space left on device")
    assert path.read_bytes() == b"the old pack"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]  # no temporary left behind

    with replacing(path) as temporary:
        temporary.write_bytes(b"the new pack")
    assert path.read_bytes() == b"the new pack"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]


def test_a_new_file_is_readable_as_the_umask_allows_and_leaves_no_temporary(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        written = write_new_file(tmp_path, "return.docx", b"bytes")
    finally:
        os.umask(old)
    assert written.read_bytes() == b"bytes"
    assert stat.S_IMODE(written.stat().st_mode) == 0o640  # 0o666 less the umask, as open() gives
    assert [p.name for p in tmp_path.iterdir()] == ["return.docx"]
