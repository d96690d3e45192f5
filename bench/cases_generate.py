"""Personalised forms: 1,000 .docx copies from our generator against docxtpl rendering each one
from scratch (the blank monitoring form with `{{ partnership }}` etc. in its controls).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import jinja2
from docxtpl import DocxTemplate
from lxml import etree

from bench.context import Context
from bench.measure import Result, Timings, ratio, timed
from bench.returns import person
from pipeline.core.identity import FormIdentity, Personalisation
from pipeline.generate.forms import form_bytes
from pipeline.generate.word import fill_docx_form
from pipeline.ingest.readers import read_form

TARGET = 10.0
CHECK_EVERY = 50  # read back every 50th copy in full (the token of every copy is checked)
CUSTOM = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"


def docxtpl_template(ctx: Context) -> bytes:
    """Our blank monitoring form with a jinja tag in each control the generator pre-fills."""
    blank, _ = form_bytes(ctx.monitoring, "docx", Personalisation())
    tags = {f.id: f"{{{{ {f.prefill} }}}}" for f in ctx.monitoring.fields if f.prefill}
    return fill_docx_form(blank, ctx.monitoring, tags)


def render_docxtpl(template: bytes, who: Personalisation, environment: jinja2.Environment) -> bytes:
    document = DocxTemplate(io.BytesIO(template))
    context = {"partnership": who.partnership, "member": who.member, "meeting_title": who.meeting_title,
               "meeting_date": who.meeting_date.isoformat() if who.meeting_date else "",
               "meeting_place": who.meeting_place}
    document.render(context, jinja_env=environment, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def generate_docx(ctx: Context) -> Result:
    people = [person(index) for index in range(ctx.sizes.forms)]
    definition = ctx.monitoring
    template = docxtpl_template(ctx)
    environment = jinja2.Environment(autoescape=True)
    ours_once: Callable[[], list[tuple[bytes, FormIdentity]]] = \
        lambda: [form_bytes(definition, "docx", who) for who in people]  # noqa: E731
    theirs_once: Callable[[], list[bytes]] = \
        lambda: [render_docxtpl(template, who, environment) for who in people]  # noqa: E731
    form_bytes(definition, "docx", people[0])  # warm: the ready-made package is built once
    render_docxtpl(template, people[0], environment)
    ours, theirs = Timings(), Timings()
    made: list[tuple[bytes, FormIdentity]] = []
    rendered: list[bytes] = []
    for repeat in range(max(ctx.sizes.repeats, ctx.sizes.docxtpl_repeats)):
        if repeat < ctx.sizes.docxtpl_repeats:
            total, rendered = timed(theirs_once)  # type: ignore[assignment]
            theirs.runs.append(total)
        if repeat < ctx.sizes.repeats:
            total, made = timed(ours_once)  # type: ignore[assignment]
            ours.runs.append(total)
    problems = _check_ours(ctx, people, made) + _check_docxtpl(people, rendered)
    speedup = theirs.median / ours.median
    got = ratio(ours.median, theirs.median)
    return Result(
        name=f"generate-docx-{ctx.sizes.forms}", baseline=f"docxtpl render + save of each of the "
        f"{ctx.sizes.forms} from the template", median_s=ours.median, spread_s=ours.spread,
        baseline_median_s=theirs.median, ratio=got, target=f"<= {1 / TARGET:g} ({TARGET:g}x faster)",
        met=speedup >= TARGET, per_second=len(people) / ours.median, correct=not problems,
        repeats=len(ours.runs),
        notes="; ".join(problems) or f"{speedup:.1f}x faster; time for all {len(people)} forms "
        f"(bytes in memory, each with its own token); docxtpl {len(theirs.runs)} repeat(s), "
        "without a token (it cannot write custom properties)",
        extra={"speedup": round(speedup, 2), "baseline_repeats": len(theirs.runs)},
    )


def _check_ours(ctx: Context, people: list[Personalisation],
                made: list[tuple[bytes, FormIdentity]]) -> list[str]:
    tokens = [identity.token for _, identity in made]
    problems = []
    if len(made) != len(people) or len(set(tokens)) != len(people) or None in tokens:
        problems.append("WRONG: not every copy has a token of its own")
    for number, ((data, identity), who) in enumerate(zip(made, people, strict=True)):
        if _token_in(data) != identity.token:
            problems.append(f"WRONG: copy {number} carries token {_token_in(data)}, not {identity.token}")
            break
        if number % CHECK_EVERY == 0:
            raw = read_form(data, "copy.docx", ctx.library).raw
            if raw.get("partnership") != who.partnership or raw.get("meeting_date") != \
                    who.meeting_date.isoformat():  # type: ignore[union-attr]
                problems.append(f"WRONG: copy {number} is not pre-filled for {who.partnership}")
                break
    return problems


def _token_in(data: bytes) -> str | None:
    properties = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("docProps/custom.xml"))
    for prop in properties.iter(CUSTOM):
        if prop.get("name") == "PipelineToken":
            return "".join(prop.itertext())
    return None


def _check_docxtpl(people: list[Personalisation], rendered: list[bytes]) -> list[str]:
    for number in range(0, len(rendered), CHECK_EVERY):
        document = zipfile.ZipFile(io.BytesIO(rendered[number])).read("word/document.xml").decode()
        escaped = (people[number].partnership or "").replace("&", "&amp;").replace("<", "&lt;") \
            .replace(">", "&gt;")
        if "{{" in document or escaped not in document:
            return [f"WRONG: docxtpl copy {number} is not filled in for {people[number].partnership}"]
    return [] if len(rendered) == len(people) else ["WRONG: docxtpl made too few copies"]
