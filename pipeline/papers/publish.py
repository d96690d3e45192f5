"""The publication folder for one meeting: what a clerk hands to the web team.

    outbox/publish/<committee-slug>/<date>/
        index.html            the public agenda: meeting, date, place, standing items, every item
                              with links to its HTML page and PDF, the Part 1 pack, publication date,
                              who to ask for another format
        <paper>.html/.pdf     each Part 1 paper (HTML edition, chart picture, tagged PDF)
        <pack>-part1.pdf      the Part 1 agenda pack
        paper.css             the pages' stylesheet (screen and print)
        meeting.ics           the meeting, for a calendar

Nothing of Part 2 ever goes in: an exempt item is listed only by its title and its Schedule 12A
paragraph, and the folder is checked for any file of an exempt paper before it replaces the last one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.core.config import Config, Settings, load_config
from pipeline.core.dates import long_date
from pipeline.core.errors import ConfigError, GenerationError
from pipeline.papers.html import AGENDA_PAGE, PAPER_CSS, STYLESHEET, file_size, render_page
from pipeline.papers.pack import (
    SCHEDULE_12A,
    ConvertToPdf,
    Paper,
    build_packs,
    committee_slug,
    order_papers,
    read_papers,
)

AGENDA_TEMPLATE = "agenda.html"
CALENDAR_FILE = "meeting.ics"


@dataclass(frozen=True)
class PublicItem:
    """One line of the public agenda."""

    number: int
    title: str
    html: str | None = None  # file names inside the folder
    pdf: str | None = None
    pdf_size: str = ""
    exempt_paragraph: int | None = None
    exempt: bool = False
    standing: bool = False


def publish_meeting(
    settings: Settings,
    meeting_date: date,
    committee: str | None = None,
    *,
    today: date | None = None,
    to_pdf: ConvertToPdf | None = None,
) -> Path:
    """Write the meeting's publication folder (replacing an earlier one whole); returns its path."""
    from pipeline.schedule.committees import meeting_for
    from pipeline.store import Store

    config = load_config(settings)
    with Store.for_home(settings) as store:
        meeting = meeting_for(store, meeting_date, committee)
        recorded = [p.manifest for p in store.papers_written(meeting_date)
                    if p.manifest and p.committee.casefold() == meeting.committee.casefold()]
    papers = _meeting_papers(settings, meeting_date, meeting.committee, recorded)
    folder = settings.outbox / "publish" / committee_slug(meeting.committee) / meeting_date.isoformat()
    staging = folder.parent / f".{meeting_date.isoformat()}-{uuid.uuid4().hex}"
    try:
        staging.mkdir(parents=True)
        _fill(staging, settings, config, meeting, papers, recorded, today or date.today(), to_pdf)
        _check_nothing_exempt(staging, papers)
        _replace(folder, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _meeting_papers(settings: Settings, day: date, committee: str, recorded: list[Path]) -> list[Paper]:
    from pipeline.papers.pack import _read_manifest, _same_committee, _unique

    found = read_papers(settings.outbox / "papers", day)
    found += [_read_manifest(p) for p in recorded if p.is_file()]
    papers = [p for p in _unique(found) if _same_committee(p.committee, committee)] if found else []
    if not papers:
        raise ConfigError(
            f"No papers have been written for the {committee} meeting on {long_date(day)}: run "
            f"'pipeline paper KIND --meeting-date {day.isoformat()}' first, then publish."
        )
    return order_papers(papers)


def _fill(
    staging: Path,
    settings: Settings,
    config: Config,
    meeting,  # type: ignore[no-untyped-def]  # committees.Meeting
    papers: list[Paper],
    recorded: list[Path],
    today: date,
    to_pdf: ConvertToPdf | None,
) -> None:
    public = [p for p in papers if not p.exempt]
    exempt = [p for p in papers if p.exempt]
    pack = _part1_pack(settings, config, meeting, recorded, staging, to_pdf)
    items = _standing_items(config)
    for paper in public:
        items.append(_publish_paper(paper, len(items) + 1, staging))
    if exempt:  # the exclusion resolution is a note between the parts, as in the pack: not numbered
        for paper in exempt:
            items.append(PublicItem(len(items) + 1, paper.title, exempt=True,
                                    exempt_paragraph=paper.exempt_paragraph))
    (staging / STYLESHEET).write_text(PAPER_CSS, encoding="utf-8")
    (staging / CALENDAR_FILE).write_bytes(meeting_ics(config, meeting, today))
    page = render_page(settings, AGENDA_TEMPLATE, {
        "authority": config.authority.name,
        "committee": meeting.committee,
        "meeting_title": meeting.title or meeting.committee,
        "meeting_date": long_date(meeting.date),
        "meeting_iso": meeting.date.isoformat(),
        "place": config.publish.place or config.papers.location,
        "items": items,
        "exempt_count": len(exempt),
        "schedule_12a": SCHEDULE_12A,
        "pack": pack.name if pack else None,
        "pack_size": file_size(pack.stat().st_size) if pack else "",
        "published": long_date(today),
        "published_iso": today.isoformat(),
        "contact": config.publish.accessibility_contact or _contact(config),
        "calendar": CALENDAR_FILE,
        "stylesheet": STYLESHEET,
    })
    (staging / AGENDA_PAGE).write_text(page, encoding="utf-8")


def _contact(config: Config) -> str:
    phone = f", {config.papers.contact_phone}" if config.papers.contact_phone else ""
    return f"{config.papers.contact_officer}{phone}"


def _standing_items(config: Config) -> list[PublicItem]:
    return [PublicItem(n, str(title), standing=True)
            for n, title in enumerate(config.publish.standing_items, start=1)]


def _part1_pack(settings, config, meeting, recorded, staging, to_pdf) -> Path | None:  # type: ignore[no-untyped-def]
    """Build the packs aside and copy only Part 1 into the folder."""
    aside = staging.parent / f"{staging.name}-packs"
    try:
        packs = build_packs(
            meeting.date, settings.outbox / "papers", aside, committee=meeting.committee,
            authority=config.authority.name, manifests=recorded,
            standing_items=tuple(config.publish.standing_items),
            **({"to_pdf": to_pdf} if to_pdf else {}),
        )
        part1 = next((p for p in packs if p.name.endswith("-part1.pdf")), None)
        if part1 is None:
            return None
        return Path(shutil.copy2(part1, staging / part1.name))
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _publish_paper(paper: Paper, number: int, staging: Path) -> PublicItem:
    import json

    data = json.loads(paper.manifest.read_text(encoding="utf-8"))
    folder = paper.manifest.parent
    names = [data.get("html"), data.get("pdf"), data.get("chart")]
    if not data.get("html") or not data.get("pdf"):
        raise GenerationError(
            f"The paper '{paper.title}' has no HTML edition or PDF to publish. Write it again with "
            f"'pipeline paper {paper.kind} --meeting-date {data.get('meeting_date') or 'YYYY-MM-DD'}' "
            "(LibreOffice must be installed for the PDF)."
        )
    for name in names:
        if name:
            source = folder / name
            if not source.is_file():
                raise GenerationError(
                    f"The file {source} of '{paper.title}' is missing: write the paper again."
                )
            shutil.copy2(source, staging / name)
    pdf = staging / data["pdf"]
    return PublicItem(number, paper.title, html=data["html"], pdf=data["pdf"],
                      pdf_size=file_size(pdf.stat().st_size))


def _check_nothing_exempt(staging: Path, papers: list[Paper]) -> None:
    """A last guard: no file of an exempt paper, and no Part 2 pack, is in the folder."""
    forbidden = set()
    for paper in papers:
        if paper.exempt:
            stem = paper.manifest.stem
            forbidden |= {f.name for f in paper.manifest.parent.glob(f"{stem}*")}
    present = {f.name for f in staging.iterdir()}
    leaked = sorted(present & forbidden) + sorted(n for n in present if n.endswith("-part2.pdf"))
    if leaked:
        raise GenerationError(
            f"Publication stopped: {', '.join(leaked)} belong to Part 2 and must not be published."
        )


def _replace(folder: Path, staging: Path) -> None:
    """The new folder takes the old one's place; the old one is removed after."""
    old = folder.parent / f".{folder.name}-old-{uuid.uuid4().hex}"
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def meeting_ics(config: Config, meeting, today: date) -> bytes:  # type: ignore[no-untyped-def]
    """The meeting as an all-day calendar event (the calendar holds the day, not the time)."""
    from datetime import timedelta

    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//Partnership forms pipeline//Publication//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"{committee_slug(meeting.committee)}-{meeting.date.isoformat()}@partnership-pipeline")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", meeting.date)
    event.add("dtend", meeting.date + timedelta(days=1))
    event.add("summary", meeting.title or meeting.committee)
    place = config.publish.place or config.papers.location
    if place:
        event.add("location", place)
    event.add("description", f"{meeting.committee}: agenda and papers published {long_date(today)}.")
    calendar.add_component(event)
    return calendar.to_ical()
