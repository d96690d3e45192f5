"""(Re)build the default paper templates, package data in `pipeline/papers/templates/docx/` (and
their HTML twins in `../html/`), from python-docx.

    python -m pipeline.papers.make_templates [FOLDER]

The templates are the clerk's to edit in Word afterwards (wording, layout, the Title in
File > Properties): `pipeline templates copy` puts copies into a home's `templates/docx/`, which
override the defaults. Every
figure is a Jinja tag filled from the records: see docs/papers for what each paper provides.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.papers.monitoring import TITLE as MONITORING_TITLE
from pipeline.papers.render import DEFAULT_TEMPLATES
from pipeline.papers.risk_register import TITLE as RISK_TITLE
from pipeline.papers.survey import TITLE as SURVEY_TITLE
from pipeline.papers.template_builder import ReportTemplate, TableColumn

PLURAL = '{{ "s" if %s != 1 }}'


def plural(name: str) -> str:
    """The `s` a count needs: `return{{ "s" if meetings != 1 }}`."""
    return PLURAL % name


def opening(paper: ReportTemplate) -> None:
    """The exempt notice (when exempt), To / From / Date and the title."""
    paper.tag("{%p if exempt %}")
    paper.line("NOT FOR PUBLICATION", bold=True, centre=True, space_after=2)
    paper.line("by virtue of paragraph {{ exempt_paragraph }} of {{ schedule_12a }}", centre=True, size=10)
    paper.tag("{%p endif %}")
    paper.address((("To:", "{{ committee }}"), ("From:", "{{ author }}"), ("Date:", "{{ paper_date }}")))
    paper.title("{{ authority|upper }} – {{ title|upper }}")


def monitoring_summary() -> ReportTemplate:
    paper = ReportTemplate(MONITORING_TITLE, "Communities and Partnerships Committee")
    opening(paper)
    _monitoring_purpose(paper)
    _monitoring_background(paper)
    _monitoring_returns_received(paper)
    _monitoring_ratings(paper)
    _monitoring_partnerships_for_review(paper)
    _monitoring_overdue_actions(paper)
    _monitoring_challenges_and_actions(paper)
    _monitoring_issues_and_decisions(paper)
    _monitoring_recommendation(paper)
    paper.bibliography()
    return paper


def _monitoring_purpose(paper: ReportTemplate) -> None:
    paper.section("1", "Purpose")
    paper.para(
        "1.1",
        "To report to the Committee what the monitoring returns made by the members and "
        "officers who represent the Authority show for {{ meetings_phrase }}, and to identify any "
        "partnership in which the Authority’s involvement should be reviewed.",
    )


def _monitoring_background(paper: ReportTemplate) -> None:
    paper.section("2", "Background")
    paper.para(
        "2.1",
        "Every member or officer who attends a partnership meeting on the Authority’s behalf "
        "completes a {{ form_title }} and returns it within {{ due_days }} days of the meeting. "
        "The form records the issues and decisions relevant to the Authority’s and the Force’s "
        "objectives, the challenges raised and the actions agreed, and rates the relevance of "
        "the agenda and the value of attending.",
    )
    paper.para(
        "2.2",
        "The Authority’s partnership strategy asks that its participation in each "
        "partnership adds value: partnerships that no longer add value are identified so that "
        "the Authority’s involvement can be reviewed.",
    )
    paper.para(
        "2.3",
        "The figures are counted from the returns held on {{ as_at }}. The annex to this "
        "report gives the data behind every table and the chart.",
    )


def _monitoring_returns_received(paper: ReportTemplate) -> None:
    paper.section("3", "Returns received")
    paper.para(
        "3.1",
        "{% if registered %}The partnership register lists {{ due }} meeting"
        + plural("due")
        + " {{ held_phrase }} whose return was due by {{ as_at }}. {% endif %}"
        "{% if has_returns %}{{ received }} return"
        + plural("received")
        + " {{ 'was' if received == 1 else 'were' }} received from {{ partnerships }} partnership"
        + plural("partnerships")
        + "{% if registered %} on the register{% endif %}, one for each meeting (a corrected copy "
        "replaces the return it corrects); {{ on_time }} arrived on time and {{ late }} late."
        "{% else %}{{ empty_message }}{% endif %}",
    )
    paper.tag("{%p if registered %}")
    paper.para(
        "3.2",
        "{% if missing %}{{ missing }} return"
        + plural("missing")
        + " {{ 'is' if missing == 1 else 'are' }} missing: {{ missing_list|join('; ') }}."
        "{% else %}No return that was due is missing.{% endif %}",
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if unmatched_count %}")
    paper.para(
        "3.3",
        "{{ unmatched_count }} return"
        + plural("unmatched_count")
        + " came from partnerships not on the register and {{ 'is' if unmatched_count == 1 else 'are' }}"
        " not counted under any partnership above: {{ unmatched_names|join(', ') }}. Each is held "
        "until the clerk matches it to a partnership on the register or adds the partnership to it.",
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if registered or has_returns %}")
    paper.loop_table(
        "Returns by partnership",
        "returns.rows",
        (
            TableColumn("Partnership", "{{ row.partnership }}", 0.28, "{{ returns.totals.partnership }}"),
            TableColumn("Returns due", "{{ row.due }}", 0.10, "{{ returns.totals.due }}", True),
            TableColumn(
                "Returns received", "{{ row.received }}", 0.11, "{{ returns.totals.received }}", True
            ),
            TableColumn("On time", "{{ row.on_time }}", 0.09, "{{ returns.totals.on_time }}", True),
            TableColumn("Late", "{{ row.late }}", 0.08, "{{ returns.totals.late }}", True),
            TableColumn("Missing", "{{ row.missing }}", 0.09, "{{ returns.totals.missing }}", True),
            TableColumn("Meetings with no return", "{{ row.missing_meetings }}", 0.25, ""),
        ),
        totals=True,
    )
    paper.note(
        "A return is due for each meeting on the partnership register, {{ due_days }} days after it; "
        "a return for a meeting whose return is not due yet counts as received, not as due. "
        "{{ missing_note or '' }}"
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if unmatched_count %}")
    paper.loop_table(
        "Returns from partnerships not on the register",
        "unmatched.rows",
        (
            TableColumn("Name given on the return", "{{ row.partnership }}", 0.46),
            TableColumn("Meeting", "{{ row.meeting }}", 0.18),
            TableColumn("Received", "{{ row.received_on }}", 0.18),
            TableColumn("Return number", "{{ row.submission_id }}", 0.18, numeric=True),
        ),
        more="unmatched",
    )
    paper.tag("{%p endif %}")


def _monitoring_ratings(paper: ReportTemplate) -> None:
    paper.section("4", "Ratings")
    paper.para(
        "4.1",
        "Each return rates how relevant the meeting’s agenda was to the Authority’s "
        "partnership objectives and how much value attending added to the Authority’s "
        "objectives and reputation.{% if not has_returns %} No ratings were given in the period."
        "{% elif unmatched_count %} The ratings count every return of the period, including the "
        "{{ unmatched_count }} from partnerships not on the register.{% endif %}",
    )
    paper.tag("{%p if has_returns %}")
    for name, field in (("agenda", "agenda_rating"), ("attendance", "attendance_rating")):
        paper.loop_table(
            f"{{{{ labels.{field}.label }}}}",
            f"{name}.rows",
            (
                TableColumn(f"{{{{ labels.{field}.label }}}}", "{{ row.level }}", 0.64, "Total"),
                TableColumn(
                    "Meetings", "{{ row.meetings }}", 0.18, f"{{{{ {name}.totals.meetings }}}}", True
                ),
                TableColumn("Share", "{{ row.percent }}", 0.18, f"{{{{ {name}.totals.percent }}}}", True),
            ),
            totals=True,
            keep_together=True,
        )
    paper.chart()
    paper.tag("{%p endif %}")


def _monitoring_partnerships_for_review(paper: ReportTemplate) -> None:
    paper.section("5", "Partnerships for review")
    paper.para(
        "5.1",
        "{% if review.count %}Attendance at {{ review.count }} partnership"
        + plural("review.count")
        + " was rated of low or no value in every return for the "
        "period. The Committee may wish to review the Authority’s involvement in "
        "{{ review_names|join(', ') }}.{% else %}No partnership’s attendance was rated of low or "
        "no value in every return for the period.{% endif %}",
    )
    paper.tag("{%p if review.count %}")
    paper.loop_table(
        "Partnerships whose attendance was rated of low or no value",
        "review.rows",
        (
            TableColumn("Partnership", "{{ row.partnership }}", 0.28),
            TableColumn("Meetings attended", "{{ row.meetings }}", 0.12, numeric=True),
            TableColumn("{{ labels.attendance_rating.label }}", "{{ row.attendance }}", 0.30),
            TableColumn("{{ labels.agenda_rating.label }}", "{{ row.agenda }}", 0.30),
        ),
        more="review",
    )
    paper.tag("{%p endif %}")


def _monitoring_overdue_actions(paper: ReportTemplate) -> None:
    paper.section("6", "Overdue actions")
    paper.para(
        "6.1",
        "{% if overdue.count %}{{ overdue.count }} action"
        + plural("overdue.count")
        + " agreed at partnership meetings had passed {{ 'its' if overdue.count == 1 else 'their' }} "
        "date by {{ as_at }}, the longest overdue first:{% else %}No action agreed at a "
        "partnership meeting in the period had passed its date by {{ as_at }}.{% endif %}",
    )
    paper.tag("{%p if overdue.count %}")
    paper.loop_table(
        "Overdue actions",
        "overdue.rows",
        (
            TableColumn("Partnership", "{{ row.partnership }}", 0.22),
            TableColumn("Meeting", "{{ row.meeting }}", 0.13),
            TableColumn("{{ labels.challenges_by_pa.action }}", "{{ row.action }}", 0.27),
            TableColumn("{{ labels.challenges_by_pa.by_whom }}", "{{ row.by_whom }}", 0.15),
            TableColumn("Due", "{{ row.by_when }}", 0.13),
            TableColumn("Days overdue", "{{ row.days }}", 0.10, numeric=True, emphasis=True),
        ),
        more="overdue",
    )
    paper.tag("{%p endif %}")


def _monitoring_challenges_and_actions(paper: ReportTemplate) -> None:
    paper.section("7", "Challenges and actions")
    paper.para(
        "7.1",
        "{% if has_returns %}The Authority’s members and officers raised "
        "{{ challenges_by_pa.count }} challenge"
        + plural("challenges_by_pa.count")
        + " and {{ challenges_to_pa.count or 'none' }} "
        + "{{ 'was' if challenges_to_pa.count == 1 else 'were' }}"
        " raised with them. Actions whose date has passed are marked Overdue."
        "{% else %}No challenges were recorded in the period.{% endif %}",
    )
    for field in ("challenges_by_pa", "challenges_to_pa"):
        paper.tag(f"{{%p if {field}.count %}}")
        paper.loop_table(
            f"{{{{ labels.{field}.label }}}}",
            f"{field}.rows",
            (
                TableColumn("Partnership", "{{ row.partnership }}", 0.16),
                TableColumn("Meeting", "{{ row.meeting }}", 0.11),
                TableColumn(f"{{{{ labels.{field}.challenge }}}}", "{{ row.challenge }}", 0.22),
                TableColumn(f"{{{{ labels.{field}.action }}}}", "{{ row.action }}", 0.18),
                TableColumn(f"{{{{ labels.{field}.by_whom }}}}", "{{ row.by_whom }}", 0.11),
                TableColumn(f"{{{{ labels.{field}.by_when }}}}", "{{ row.by_when }}", 0.11),
                TableColumn("Status", "{{ row.status }}", 0.11, emphasis=True),
            ),
            more=field,
        )
        paper.tag("{%p endif %}")


def _monitoring_issues_and_decisions(paper: ReportTemplate) -> None:
    paper.section("8", "Issues and decisions")
    paper.para(
        "8.1",
        "{% if has_returns %}The issues on the partnerships’ agendas relevant to the "
        "Authority’s and the Force’s objectives, and the decisions made.{% else %}No issues or "
        "decisions were recorded in the period.{% endif %}",
    )
    for field in ("pa_issues", "force_issues"):
        paper.tag(f"{{%p if {field}.count %}}")
        paper.loop_table(
            f"{{{{ labels.{field}.label }}}}",
            f"{field}.rows",
            (
                TableColumn("Partnership", "{{ row.partnership }}", 0.20),
                TableColumn("Meeting", "{{ row.meeting }}", 0.12),
                TableColumn(f"{{{{ labels.{field}.issue }}}}", "{{ row.issue }}", 0.34),
                TableColumn(f"{{{{ labels.{field}.decision }}}}", "{{ row.decision }}", 0.34),
            ),
            more=field,
        )
        paper.tag("{%p endif %}")


def _monitoring_recommendation(paper: ReportTemplate) -> None:
    paper.section("9", "Recommendation")
    paper.para(
        "9.1",
        "The Committee is asked to note {% if has_returns %}the returns received{% else %}that no "
        "returns were received for the period{% endif %}{% if overdue.count %}"
        "{{ ',' if review.count else ' and' }} to "
        "seek an update on the overdue actions{% endif %}{% if review.count %} and to consider "
        "whether the Authority’s involvement in the partnership"
        + plural("review.count")
        + " listed in section 5 should continue{% endif %}.",
    )


def risk_register() -> ReportTemplate:
    paper = ReportTemplate(RISK_TITLE, "Scrutiny and Audit Committee")
    opening(paper)
    _risk_purpose(paper)
    _risk_background(paper)
    _risk_the_register(paper)
    _risk_questions_needing_attention(paper)
    _risk_recommendation(paper)
    paper.bibliography()
    return paper


def _risk_purpose(paper: ReportTemplate) -> None:
    paper.section("1", "Purpose")
    paper.para(
        "1.1",
        "To present to the Committee, for its annual review, the risk status of the "
        "partnerships the Authority works with, from the partnership risk assessment checklists "
        "{{ assessed_phrase }}.",
    )


def _risk_background(paper: ReportTemplate) -> None:
    paper.section("2", "Background")
    paper.para(
        "2.1",
        "The Partnership Policy requires the risks to be considered before the Authority "
        "joins a new partnership or renews or extends an existing one, using the {{ form_title }}. "
        "Partnerships involving money, the allocation of resources, joint performance targets, "
        "property or staff owned by the partnership, or contracts are high-risk, and every "
        "question of the checklist must then be answered.",
    )
    paper.para(
        "2.2",
        "For each partnership the register shows whether it is high-risk, whether its "
        "checklist is complete, the questions answered “No” or “Not known yet” or not answered, "
        "the accountable body ({{ accountable_body_question }}), when it was last assessed and "
        "whether an equality impact assessment is held for it.",
    )


def _risk_the_register(paper: ReportTemplate) -> None:
    paper.section("3", "The register")
    paper.para(
        "3.1",
        "{% if has_returns %}{% if registered %}The partnership register lists {{ partnerships }} "
        "partnership" + plural("partnerships") + ", {{ register_high_risk_count }} of them high-risk by the "
        "register{% else %}The partnership register is empty; {{ partnerships }} partnership"
        + plural("partnerships")
        + " returned a checklist{% endif %}. {{ high_risk_count }} "
        "{{ 'is' if high_risk_count == 1 else 'are' }} high-risk by the register or by "
        "{{ 'its' if high_risk_count == 1 else 'their' }} own checklist. Checklists: "
        "{{ complete_count }} complete, {{ incomplete_count }} incomplete, {{ not_yet_due_count }} "
        "not yet due and {{ not_returned_count }} not returned{% if not_asked_count %}; "
        "{{ not_asked_count }} not asked for (not high-risk){% endif %}.{% else %}{{ empty_message }}"
        "{% endif %}",
    )
    paper.tag("{%p if has_returns %}")
    paper.para(
        "3.2",
        "{% if every_high_risk_complete %}Every high-risk partnership’s checklist is complete."
        "{% elif high_risk_not_complete_count %}{{ high_risk_not_complete_count }} high-risk "
        "partnership" + plural("high_risk_not_complete_count") + " {{ 'has' if "
        "high_risk_not_complete_count == 1 else 'have' }} no complete checklist: "
        "{{ high_risk_not_complete|join(', ') }}.{% else %}No partnership is high-risk.{% endif %}"
        "{% if disagreement_count %} For {{ disagreements|join(', ') }} the register and the "
        "checklist’s screening answers disagree about whether the partnership is high-risk: the "
        "register should be checked.{% endif %} {% if without_eia_count %}No equality impact "
        "assessment is held for {{ without_eia|join(', ') }}.{% else %}An equality impact "
        "assessment is held for every partnership.{% endif %}",
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if unmatched_count %}")
    paper.para(
        "3.3",
        "{{ unmatched_count }} checklist" + plural("unmatched_count") + " came from partnerships not on "
        "the register and {{ 'is' if unmatched_count == 1 else 'are' }} not counted above: "
        "{{ unmatched_names|join(', ') }}. Each is held until the clerk matches it to a partnership "
        "on the register or adds the partnership to it.",
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if partnerships %}")
    paper.loop_table(
        "Partnership risk register",
        "register.rows",
        (
            TableColumn("Partnership", "{{ row.partnership }}", 0.17),
            TableColumn("High risk", "{{ row.high_risk }}", 0.12),
            TableColumn("Checklist", "{{ row.checklist }}", 0.15),
            TableColumn("Questions answered No, Not known yet or not answered", "{{ row.questions }}", 0.15),
            TableColumn("Accountable body", "{{ row.accountable_body }}", 0.15),
            TableColumn("Last assessed", "{{ row.assessed_on }}", 0.11),
            TableColumn("Equality impact assessment held", "{{ row.eia }}", 0.15),
        ),
        more="register",
    )
    paper.tag("{%p endif %}")


def _risk_questions_needing_attention(paper: ReportTemplate) -> None:
    paper.section("4", "Questions needing attention")
    paper.para(
        "4.1",
        "{% if questions.count %}The questions answered “No” or “Not known yet”, or not "
        "answered, in each checklist:{% else %}No question in any checklist was answered “No” or "
        "“Not known yet” or left unanswered.{% endif %}",
    )
    paper.tag("{%p if questions.count %}")
    paper.loop_table(
        "Questions needing attention",
        "questions.rows",
        (
            TableColumn("Partnership", "{{ row.partnership }}", 0.24),
            TableColumn("No.", "{{ row.number }}", 0.07),
            TableColumn("Question", "{{ row.question }}", 0.51),
            TableColumn("Answer", "{{ row.answer }}", 0.18, emphasis=True),
        ),
        more="questions",
    )
    paper.tag("{%p endif %}")


def _risk_recommendation(paper: ReportTemplate) -> None:
    paper.section("5", "Recommendation")
    paper.para(
        "5.1",
        "The Committee is asked to note the register{% if high_risk_not_complete_count %}"
        "{{ ',' if without_eia_count else ' and' }} to ask "
        "the representatives of the high-risk partnerships without a complete checklist to "
        "complete one{% endif %}{% if without_eia_count %} and to ask for an equality impact "
        "assessment where none is held{% endif %}.",
    )


def survey_results() -> ReportTemplate:
    paper = ReportTemplate(SURVEY_TITLE, "Communities and Partnerships Committee")
    opening(paper)
    _survey_purpose(paper)
    _survey_background(paper)
    _survey_respondents(paper)
    _survey_results(paper)
    _survey_recommendation(paper)
    paper.bibliography()
    return paper


def _survey_purpose(paper: ReportTemplate) -> None:
    paper.section("1", "Purpose")
    paper.para(
        "1.1",
        "To report the results of {% if years.this %}the {{ years.this }}{% else %}the "
        "annual{% endif %} stakeholder survey of the partnerships the Authority works with, "
        "compared with last year and with the baseline.",
    )


def _survey_background(paper: ReportTemplate) -> None:
    paper.section("2", "Background")
    paper.para(
        "2.1",
        "The Authority’s partnership strategy requires a stakeholder survey each year to "
        "assess the effectiveness of the Authority’s contribution to partnerships. The first "
        "survey{% if years.baseline %} ({{ years.baseline }}){% endif %} set a baseline; each "
        "later survey shows the movement in the partnerships’ views.",
    )
    paper.para(
        "2.2",
        "Each partnership said how far it agrees that the Authority delivered each item "
        "of its pledge to partnerships. Mean scores run from {{ scale }}; “% agree” is the share "
        "who agreed or strongly agreed.",
    )


def _survey_respondents(paper: ReportTemplate) -> None:
    paper.section("3", "Respondents")
    paper.para(
        "3.1",
        "{% if has_returns %}{{ respondents_this }} response"
        + plural("respondents_this")
        + " {{ 'was' if respondents_this == 1 else 'were' }} received in {{ years.this }}{% if has_last %}, "
        "against {{ respondents_last }} in {{ years.last }}{% endif %}.{% else %}"
        "{{ empty_message }}{% endif %}",
    )
    paper.tag("{%p if registered and has_returns %}")
    paper.para(
        "3.2",
        "{{ register_responded }} of the {{ register_count }} partnership"
        + plural("register_count")
        + " on the register responded{% if non_respondent_count %}; {{ non_respondent_count }} "
        "did not: {{ non_respondents|join(', ') }}{% else %}: every partnership responded{% endif %}.",
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if unmatched_count and has_returns %}")
    paper.para(
        "3.3",
        "{{ unmatched_count }} response" + plural("unmatched_count") + " came from names not on the "
        "register: {{ unmatched_names|join(', ') }}. {{ 'It is' if unmatched_count == 1 else 'They are' }} "
        "counted in the results but under no partnership above.",
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if has_returns %}")
    paper.loop_table(
        "Respondents by survey year",
        "respondents.rows",
        (
            TableColumn("Survey year", "{{ row.year }}", 0.3),
            TableColumn("Compared as", "{{ row.role }}", 0.4),
            TableColumn("Respondents", "{{ row.respondents }}", 0.3, numeric=True),
        ),
        keep_together=True,
    )
    paper.tag("{%p endif %}")
    paper.tag("{%p if non_respondents_table.count and has_returns %}")
    paper.loop_table(
        "Partnerships on the register that did not respond",
        "non_respondents_table.rows",
        (
            TableColumn("Partnership", "{{ row.partnership }}", 0.5),
            TableColumn("Survey sent on", "{{ row.sent_on }}", 0.25),
            TableColumn("Due on", "{{ row.due_on }}", 0.25),
        ),
        more="non_respondents_table",
    )
    paper.tag("{%p endif %}")


def _survey_results(paper: ReportTemplate) -> None:
    paper.section("4", "Results")
    paper.para(
        "4.1",
        "{% if has_returns %}The mean score for each pledge item, with the movement since "
        "last year and since the baseline: ↑ an improvement, ↓ a decline, → no change."
        "{% if declined %} Pledge item" + plural("declined|length") + " {{ declined|join(', ') }} "
        "declined since last year.{% endif %}{% else %}There are no results to report."
        "{% endif %}",
    )
    paper.tag("{%p if has_returns %}")
    paper.loop_table(
        "Results by pledge item",
        "results.rows",
        (
            TableColumn("No.", "{{ row.number }}", 0.05),
            TableColumn("Pledge item", "{{ row.pledge }}", 0.31),
            TableColumn("{{ years.baseline }} baseline", "{{ row.baseline }}", 0.10, numeric=True),
            TableColumn("{{ years.last or '' }} last year", "{{ row.last }}", 0.10, numeric=True),
            TableColumn("{{ years.this }} this year", "{{ row.this }}", 0.10, numeric=True),
            TableColumn("% agree {{ years.this }}", "{{ row.agree }}", 0.10, numeric=True),
            TableColumn("On last year", "{{ row.change_last }}", 0.12),
            TableColumn("On the baseline", "{{ row.change_baseline }}", 0.12),
        ),
    )
    paper.chart()
    paper.tag("{%p endif %}")


def _survey_recommendation(paper: ReportTemplate) -> None:
    paper.section("5", "Recommendation")
    paper.para(
        "5.1",
        "The Committee is asked to note the results{% if declined %} and to consider how "
        "the Authority can improve its delivery of the pledge items that declined{% endif %}.",
    )


BUILDERS: dict[str, Callable[[], ReportTemplate]] = {
    "monitoring-summary": monitoring_summary,
    "risk-register": risk_register,
    "survey-results": survey_results,
}


def write_templates(folder: Path) -> list[Path]:
    """Write every default Word template into `folder` and its HTML twin beside it in `../html`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    html_folder = folder.parent / "html"  # templates/docx/ and templates/html/ side by side
    html_folder.mkdir(parents=True, exist_ok=True)
    for kind, build in BUILDERS.items():
        paper = build()
        path = folder / f"{kind}.docx"
        path.write_bytes(paper.save())
        html = html_folder / f"{kind}.html"
        html.write_text(paper.html_template(), encoding="utf-8")
        written += [path, html]
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else DEFAULT_TEMPLATES
    for path in write_templates(folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
