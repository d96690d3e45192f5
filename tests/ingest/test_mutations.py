"""Damaged, mutated and truncated forms thrown at ingest (hypothesis): none crashes it, hangs it,
or loses the bytes. Whatever comes in ends accepted, rejected, held or a duplicate, and the exact
bytes are kept in the archive or in `rejected/`, never only in `.processing`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.config import settings_for
from pipeline.ingest.steps import Ingest
from pipeline.store import Store
from tests.support.returns import LIBRARY, issue, word_return
from tests.support.zips import read_parts, zipped

GOOD = word_return()
FINISHED = {"accepted", "superseded", "rejected", "held", "duplicate"}


PARTS = read_parts(GOOD)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """The good return damaged one of the ways files get damaged: cut short, bytes flipped, a
    part's XML mutated (then zipped again, so the readers see it), or a part dropped."""
    how = draw(st.sampled_from(["truncate", "flip", "mutate-part", "drop-part"]))
    if how == "truncate":
        return GOOD[: draw(st.integers(0, len(GOOD) - 1))]
    if how == "flip":
        data = bytearray(GOOD)
        for _ in range(draw(st.integers(1, 20))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    name = draw(st.sampled_from(sorted(PARTS)))
    parts = dict(PARTS)
    if how == "drop-part":
        del parts[name]
        return zipped(parts)
    body = bytearray(parts[name])
    start = draw(st.integers(0, max(len(body) - 1, 0)))
    body[start:start + draw(st.integers(0, 64))] = draw(st.binary(max_size=64))
    parts[name] = bytes(body)
    return zipped(parts)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory):
    home = settings_for(tmp_path_factory.mktemp("mutations") / "home")
    home.home.mkdir()
    issue(home)
    with Store.for_home(home) as store:
        yield Ingest(home, LIBRARY, store), tmp_path_factory.mktemp("dropped")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=damaged(), name=st.sampled_from(["return.docx", "return.xlsx", "return.pdf", "x.eml"]))
def test_a_damaged_form_never_crashes_hangs_or_loses_its_bytes(ingest, data: bytes, name: str) -> None:
    runner, folder = ingest
    path = folder / name
    path.write_bytes(data)
    started = time.monotonic()
    results = runner.ingest_path(path)  # any exception here is the failure
    assert time.monotonic() - started < 20, "ingest took too long on a damaged file"
    assert results and all(r.outcome.value in FINISHED for r in results), results
    if data:
        whole = [r for r in results if r.stored_at and Path(r.stored_at).read_bytes() == data]
        assert whole or name == "x.eml", "the file's exact bytes were not kept"
    assert [p for p in runner.processing.iterdir()] == []  # nothing left half-done
