"""The console's pages: Today, Returns, Needs attention, Forms, Meetings and papers, Register."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from pipeline.core.config import Settings
from pipeline.core.definitions import FormLibrary
from pipeline.core.errors import PipelineError
from pipeline.web import auth, pages
from pipeline.web.auth import clerks_only, signed_in, store, who

console = Blueprint("console", __name__)


def _settings() -> Settings:
    return current_app.config["PIPELINE_SETTINGS"]


def _library() -> FormLibrary:
    return current_app.config["PIPELINE_LIBRARY"]


def _is_clerk() -> bool:
    session = auth.current()
    return session is not None and session.user.role == "clerk"


# --- signing in and out ------------------------------------------------------------------------


@console.get("/sign-in")
def sign_in() -> Response:
    response = make_response(render_template("sign_in.html", title="Sign in", error=None,
                                             next=_safe_next(request.args.get("next"))))
    auth.set_cookie(response, auth.SIGN_IN_COOKIE, auth.csrf_token())
    return response


@console.post("/sign-in")
def sign_in_post() -> Response:
    from pipeline.web.users import check_password

    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    target = _safe_next(request.form.get("next"))
    if auth.throttled(name):
        store().log("sign-in", "throttled", name)
        return _sign_in_again("Too many sign-in attempts. Wait 15 minutes, then try again.", 429)
    user = check_password(store(), name, password) if name and password else None
    if user is None:
        auth.note_failure(name)
        store().log("sign-in", "refused", name)
        return _sign_in_again("The name or password is not right. Check them and try again.", 401)
    store().clear_sign_in_failures(name)
    store().log("sign-in", "signed in", user.name, by_user=user.name)
    response = redirect(target)
    auth.start_session(response, user.id)
    return response


def _sign_in_again(error: str, status: int) -> Response:
    response = make_response(render_template("sign_in.html", title="Sign in", error=error,
                                             next=_safe_next(request.form.get("next"))), status)
    auth.set_cookie(response, auth.SIGN_IN_COOKIE, auth.csrf_token())
    return response


def _safe_next(target: str | None) -> str:
    """Only a page of this console: never another site (//evil.example) after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.today")


@console.post("/sign-out")
@signed_in
def sign_out() -> Response:
    store().log("sign-in", "signed out", who(), by_user=who())
    response = redirect(url_for("console.sign_in"))
    auth.end_session(response)
    return response


# --- Today -------------------------------------------------------------------------------------


@console.get("/")
@signed_in
def today() -> str:
    data = pages.today(_settings(), store(), date.today())
    return render_template("today.html", title="Today", **data)


# --- Returns -----------------------------------------------------------------------------------


@console.get("/returns")
@signed_in
def returns() -> str:
    chosen = {k: request.args.get(k, "").strip() for k in ("form", "partnership", "meeting")}
    data = pages.returns(store(), _library(), **chosen)
    return render_template("returns.html", title="Returns", chosen=chosen, **data)


@console.get("/returns/<int:submission_id>")
@signed_in
def one_return(submission_id: int) -> str:
    data = pages.one_return(store(), _library(), submission_id)
    if data is None:
        abort(404, f"There is no return number {submission_id}.")
    return render_template("return.html", title=f"Return {submission_id}", clerk=_is_clerk(), **data)


@console.get("/returns/<int:submission_id>/original")
@clerks_only
def return_original(submission_id: int) -> Response:
    submission = store().submission(submission_id)
    intake = store().intake(submission.intake_id) if submission and submission.intake_id else None
    if intake is None or not intake.archived_path:
        abort(404, "The original file of that return is not kept.")
    store().log("console", "downloaded original", intake.original_name, submission_id=submission_id,
                by_user=who())
    return _send(Path(intake.archived_path), intake.original_name)


# --- Needs attention ---------------------------------------------------------------------------


@console.get("/attention")
@clerks_only
def attention() -> str:
    data = pages.attention(store())
    return render_template("attention.html", title="Needs attention", done=request.args.get("done"),
                           **data)


@console.get("/attention/<int:intake_id>/<any(original, report):which>")
@clerks_only
def rejected_file(intake_id: int, which: str) -> Response:
    intake = store().intake(intake_id)
    path = intake and (intake.archived_path if which == "original" else intake.report_path)
    if not path:
        abort(404, "That file is not kept.")
    name = intake.original_name if which == "original" else f"{intake.original_name}.what-to-fix.txt"
    return _send(Path(path), name)


@console.post("/attention/<int:intake_id>/dismiss")
@clerks_only
def dismiss(intake_id: int) -> Response:
    reason = request.form.get("reason", "").strip()
    if not reason:
        abort(400, "Say why the file can be dismissed (for example: sent again by email), then try again.")
    if store().intake(intake_id) is None:
        abort(404, "There is no such file.")
    store().deal_with(intake_id, "dismissed", reason[:500], who())
    return redirect(url_for("console.attention", done=f"Dismissed: {reason[:80]}"))


@console.post("/attention/<int:intake_id>/reingest")
@clerks_only
def reingest(intake_id: int) -> Response:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "Choose the corrected file to upload, then try again.")
    if store().intake(intake_id) is None:
        abort(404, "There is no such file.")
    result = pages.ingest_upload(_settings(), _library(), upload.filename, upload.read())
    outcome = result.outcome.value
    if outcome in ("accepted", "superseded", "duplicate"):
        store().deal_with(intake_id, "re-ingested", f"{upload.filename}: {outcome}", who())
    else:
        store().log("console", "re-ingest rejected", upload.filename, intake_id=intake_id, by_user=who())
    first = result.message.splitlines()[0] if result.message else outcome
    return redirect(url_for("console.attention", done=f"{upload.filename}: {first}"))


@console.post("/attention/held/<int:intake_id>")
@clerks_only
def decide_held(intake_id: int) -> Response:
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "").strip()
    if decision not in ("sent", "typed", "reject"):
        abort(400, "Choose how to count the return, or reject it.")
    if decision == "reject" and not reason:
        abort(400, "Say why you are rejecting the return, then try again.")
    try:
        done = pages.decide_held(_settings(), _library(), intake_id, decision, reason[:500], who())
    except PipelineError as exc:
        done = str(exc)
    return redirect(url_for("console.attention", done=done[:300]))


@console.post("/attention/match")
@clerks_only
def match() -> Response:
    try:
        submission_id = int(request.form["submission_id"])
        partnership_id = int(request.form["partnership_id"])
    except (KeyError, ValueError):
        abort(400, "Choose the partnership this return is from, then try again.")
    name = pages.match(store(), submission_id, partnership_id, who())
    return redirect(url_for("console.attention", done=f"Return {submission_id} matched to {name}."))


# --- Forms -------------------------------------------------------------------------------------


@console.get("/forms")
@signed_in
def forms() -> str:
    data = pages.forms(store(), _library())
    return render_template("forms.html", title="Forms", clerk=_is_clerk(), **data)


@console.get("/forms/download")
@signed_in
def form_download() -> Response:
    args = request.args
    personal = any(args.get(k) for k in ("partnership", "member", "meeting_date"))
    if personal and not _is_clerk():
        abort(403, "Only a clerk can download a personalised form.")
    try:
        name, data = pages.form_file(_library(), args.get("form", ""), args.get("format", "docx"),
                                     args.get("partnership", ""), args.get("member", ""),
                                     args.get("meeting_date", ""))
    except PipelineError as exc:
        abort(400, str(exc))
    if personal:
        store().log("console", "personalised form", name, by_user=who())
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name)


# --- Meetings and papers -----------------------------------------------------------------------


@console.get("/meetings")
@signed_in
def meetings() -> str:
    data = pages.meetings(_settings(), store(), clerk=_is_clerk(), today=date.today())
    return render_template("meetings.html", title="Meetings and papers", clerk=_is_clerk(),
                           done=request.args.get("done"), **data)


@console.get("/files/<path:relative>")
@signed_in
def paper_file(relative: str) -> Response:
    path = pages.paper_file(_settings(), store(), relative, clerk=_is_clerk())
    return _send(path, path.name)


@console.post("/meetings/write")
@clerks_only
def write_again() -> Response:
    try:
        day = date.fromisoformat(request.form.get("meeting_date", ""))
    except ValueError:
        abort(400, "That meeting date is not a date.")
    committee = request.form.get("committee", "")
    done = pages.write_again(_settings(), _library(), store(), committee, day, who())
    return redirect(url_for("console.meetings", done=done))


# --- Register and calendar ---------------------------------------------------------------------


@console.get("/register")
@signed_in
def register_page() -> str:
    data = pages.register_and_calendar(store(), date.today())
    return render_template("register.html", title="Register and calendar", clerk=_is_clerk(),
                           report=None, **data)


@console.post("/register")
@clerks_only
def register_upload() -> str:
    from pipeline.schedule import register
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "Choose the register spreadsheet (.xlsx) to upload, then try again.")
    try:
        result = register.import_register(store(), upload.read(), today=date.today(),
                                          source_name=upload.filename)
        report = result.summary()
    except PipelineError as exc:
        report = f"The register was not imported: {exc}"
    store().log("console", "register uploaded", f"{upload.filename}: {report.splitlines()[0]}",
                by_user=who())
    data = pages.register_and_calendar(store(), date.today())
    return render_template("register.html", title="Register and calendar", clerk=True, report=report,
                           **data)


# --- helpers -----------------------------------------------------------------------------------


def _send(path: Path, name: str) -> Response:
    path = pages.inside_home(_settings(), path)
    if not path.is_file():
        abort(404, "That file is no longer there.")
    return send_file(path, as_attachment=True, download_name=name)
