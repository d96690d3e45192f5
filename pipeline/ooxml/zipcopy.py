"""Rewrite a zip with a few members replaced, copying every other member's compressed bytes as
they are: personalising a form changes two small parts of a ready-made package, so there is no
need to decompress and recompress the 800 KB of styles around them.

Only for packages the pipeline made itself (no zip64, no encryption); untrusted files are read
through `Package`, never rewritten here.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from time import localtime

from pipeline.core.errors import GenerationError

LOCAL = struct.Struct("<4s5H3L2H")
CENTRAL = struct.Struct("<4s6H3L5H2L")
END = struct.Struct("<4s4H2LH")
UTF8_FLAG = 0x800
DEFLATE_LEVEL = 3  # a 60 KB document: 0.09 ms and 4.4 KB, against 0.5 ms and 3.7 KB at level 6


def rewrite(data: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of the zip `data` with the members named in `replace` given new contents."""
    return PreparedZip(data).rewrite(replace)


class PreparedZip:
    """A zip read once and kept as its members' stored bytes, to be copied many times."""

    def __init__(self, data: bytes) -> None:
        try:
            infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        except zipfile.BadZipFile as exc:
            raise GenerationError("The document to personalise is not a valid package.") from exc
        starts = sorted(i.header_offset for i in infos)
        end_of = dict(zip(starts, [*starts[1:], _central_start(data, infos)], strict=True))
        self._members = [(info, data[info.header_offset:end_of[info.header_offset]]) for info in infos]
        self._names = frozenset(info.filename for info in infos)

    def rewrite(self, replace: dict[str, bytes]) -> bytes:
        """A copy with the members named in `replace` given new contents, the rest as stored."""
        missing = set(replace) - self._names
        if missing:
            raise GenerationError(f"The document has no part named {', '.join(sorted(missing))}.")
        chunks: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        for info, stored in self._members:
            if info.filename in replace:
                crc, size, compressed = _deflate(replace[info.filename])
                stored = _local_header(info, crc, len(compressed), size) + compressed
                central.append(_central_entry(info, offset, crc, len(compressed), size, fresh=True))
            else:
                central.append(_central_entry(info, offset, info.CRC, info.compress_size,
                                              info.file_size, fresh=False))
            chunks.append(stored)
            offset += len(stored)
        directory = b"".join(central)
        end = END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
        return b"".join([*chunks, directory, end])


def _central_start(data: bytes, infos: list[zipfile.ZipInfo]) -> int:
    position = data.rfind(b"PK\x05\x06")
    if position < 0 or len(infos) >= 0xFFFF:
        raise GenerationError("The document to personalise is not a plain zip package.")
    return END.unpack_from(data, position)[6]


def _deflate(content: bytes) -> tuple[int, int, bytes]:
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return zlib.crc32(content), len(content), compressor.compress(content) + compressor.flush()


def _dos_time(info: zipfile.ZipInfo) -> tuple[int, int]:
    year, month, day, hour, minute, second = info.date_time if info.date_time[0] >= 1980 \
        else localtime()[:6]
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _name(info: zipfile.ZipInfo) -> tuple[bytes, int]:
    try:
        return info.filename.encode("ascii"), 0
    except UnicodeEncodeError:
        return info.filename.encode("utf-8"), UTF8_FLAG


def _local_header(info: zipfile.ZipInfo, crc: int, compressed: int, size: int) -> bytes:
    name, flag = _name(info)
    time, date = _dos_time(info)
    header = LOCAL.pack(b"PK\x03\x04", 20, flag, zipfile.ZIP_DEFLATED, time, date, crc,
                        compressed, size, len(name), 0)
    return header + name


def _central_entry(info: zipfile.ZipInfo, offset: int, crc: int, compressed: int, size: int,
                   *, fresh: bool) -> bytes:
    name, flag = _name(info)
    time, date = _dos_time(info)
    if fresh:
        flags, method, extra = flag, zipfile.ZIP_DEFLATED, b""
    else:
        flags, method, extra = info.flag_bits, info.compress_type, info.extra
    entry = CENTRAL.pack(b"PK\x01\x02", (info.create_system << 8) | 20, 20, flags, method, time,
                         date, crc, compressed, size, len(name), len(extra), len(info.comment), 0,
                         info.internal_attr, info.external_attr, offset)
    return entry + name + extra + info.comment
