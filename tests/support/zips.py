"""Office files are zip packages: read their parts, and build hand-made or changed ones for tests
(on zipfile alone, independently of pipeline.ooxml, whose readers these files are thrown at)."""

from __future__ import annotations

import io
import zipfile


def read_parts(data: bytes) -> dict[str, bytes]:
    """Every part of the package by its name, in the package's order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zipped(parts: dict[str, bytes], level: int | None = None) -> bytes:
    """A new package of these parts, deflated (at `level`, else zlib's default)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


def with_parts(data: bytes, changed: dict[str, bytes], added: dict[str, bytes] | None = None) -> bytes:
    """The package with the `changed` parts' contents replaced (every part keeps its own entry:
    name, order, date and compression) and the `added` parts stored after them."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, changed[info.filename] if info.filename in changed else source.read(info))
        for name, body in (added or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def with_part_changed(data: bytes, part: str, old: bytes, new: bytes) -> bytes:
    """The package with `old` replaced by `new` in one part."""
    return with_parts(data, {part: read_parts(data)[part].replace(old, new)})
