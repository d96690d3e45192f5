"""Committee papers and agenda packs written, so that each is written once per meeting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from pipeline.store.base import StoreBase
from pipeline.store.connection import utc_text
from pipeline.store.rows import PackWritten, WrittenPaper


class PapersMixin(StoreBase):
    """Papers and packs written, by meeting."""

    def record_paper(self, paper: WrittenPaper) -> None:
        """Remember a paper written for a meeting (written again: the newer files replace)."""
        with self._writing(f"record the {paper.kind} paper"):
            self._db.execute(
                "INSERT INTO papers_written (kind, committee, meeting_date, written_at, paths, manifest)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, committee, meeting_date) DO UPDATE SET"
                " written_at = excluded.written_at, paths = excluded.paths, manifest = excluded.manifest",
                (paper.kind, paper.committee, paper.meeting_date.isoformat(), utc_text(paper.written_at),
                 json.dumps([str(p) for p in paper.paths]), str(paper.manifest) if paper.manifest else None),
            )

    def papers_written(self, meeting_date: date | None = None) -> list[WrittenPaper]:
        """Papers recorded (for one meeting date, or all), by date, committee and kind."""
        where, params = ("WHERE meeting_date = ?", (meeting_date.isoformat(),)) if meeting_date else ("", ())
        with self._guard("list the papers written"):
            rows = self._db.execute(
                f"SELECT * FROM papers_written {where} ORDER BY meeting_date, committee, kind", params
            ).fetchall()
        return [
            WrittenPaper(r["kind"], r["committee"], date.fromisoformat(r["meeting_date"]),
                         tuple(Path(p) for p in json.loads(r["paths"] or "[]")),
                         Path(r["manifest"]) if r["manifest"] else None,
                         datetime.fromisoformat(r["written_at"].replace("Z", "+00:00")))
            for r in rows
        ]

    def record_pack(self, committee: str, meeting_date: date, paths: Iterable[Path], at: datetime) -> None:
        """Remember an agenda pack built for a meeting (built again: the newer files replace)."""
        with self._writing("record the agenda pack"):
            self._db.execute(
                "INSERT INTO packs_written (committee, meeting_date, written_at, paths) VALUES (?,?,?,?)"
                " ON CONFLICT (committee, meeting_date) DO UPDATE SET written_at = excluded.written_at,"
                " paths = excluded.paths",
                (committee, meeting_date.isoformat(), utc_text(at), json.dumps([str(p) for p in paths])))

    def packs_written(self) -> list[PackWritten]:
        """Agenda packs recorded, by date."""
        with self._guard("list the agenda packs written"):
            rows = self._db.execute("SELECT * FROM packs_written ORDER BY meeting_date, committee").fetchall()
        return [PackWritten(r["committee"], date.fromisoformat(r["meeting_date"]),
                            tuple(Path(p) for p in json.loads(r["paths"] or "[]"))) for r in rows]

    def paper_written(self, kind: str, committee: str, meeting_date: date) -> bool:
        with self._reading("read the papers written") as db:
            return db.execute(
                "SELECT 1 FROM papers_written WHERE kind = ? AND committee = ? AND meeting_date = ?",
                (kind, committee, meeting_date.isoformat())).fetchone() is not None

    def pack_written(self, committee: str, meeting_date: date) -> bool:
        with self._reading("read the agenda packs written") as db:
            return db.execute("SELECT 1 FROM packs_written WHERE committee = ? AND meeting_date = ?",
                              (committee, meeting_date.isoformat())).fetchone() is not None
