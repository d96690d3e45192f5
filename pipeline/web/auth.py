"""Signing in and out: server-side sessions in an HttpOnly SameSite cookie, CSRF tokens, throttling.

The cookie holds a random token; the store keeps only its sha256, with the user and the session's
CSRF token. Every POST must carry that CSRF token (the sign-in form: a token from its own cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, g, redirect, request, url_for

from pipeline.store import Store, WebSession

SESSION_COOKIE = "pipeline_session"
SIGN_IN_COOKIE = "pipeline_sign_in"  # the sign-in form's CSRF token, before anyone is signed in
MAX_FAILURES = 5  # failed sign-ins (per name or per address) before sign-in pauses
THROTTLE = timedelta(minutes=15)

Handler = Callable[..., Any]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_https() -> bool:
    """Served over HTTPS (directly, or by a trusted proxy that says so via ProxyFix)."""
    return request.is_secure


def set_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    """Every cookie the console sets: HttpOnly, SameSite=Lax, Secure under HTTPS."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax",
                        secure=is_https(), path="/")


def clear_cookie(response: Response, name: str) -> None:
    response.set_cookie(name, "", max_age=0, expires=0, httponly=True, samesite="Lax",
                        secure=is_https(), path="/")


def store() -> Store:
    if "store" not in g:
        g.store = Store.for_home(current_app.config["PIPELINE_SETTINGS"])
    return g.store


def load_session() -> None:
    """Before each request: who is signed in (None once idle too long)."""
    g.session = None
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return
    now = datetime.now(UTC)
    idle = timedelta(minutes=current_app.config["PIPELINE_WEB"].idle_minutes)
    store().end_idle_sessions(now - idle)
    found = store().web_session(_hash(token))
    if found is not None:
        store().touch_session(_hash(token), now)
        g.session = found


def current() -> WebSession | None:
    return g.get("session")


def start_session(response: Response, user_id: int) -> None:
    token = secrets.token_urlsafe(32)
    store().start_session(_hash(token), user_id, secrets.token_urlsafe(32), datetime.now(UTC))
    set_cookie(response, SESSION_COOKIE, token)
    clear_cookie(response, SIGN_IN_COOKIE)


def end_session(response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        store().end_session(_hash(token))
    clear_cookie(response, SESSION_COOKIE)


def csrf_token() -> str:
    """The token every form on the page carries."""
    session = current()
    if session is not None:
        return session.csrf
    if "sign_in_csrf" not in g:
        g.sign_in_csrf = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    return g.sign_in_csrf


def check_csrf() -> None:
    """Before each POST: refuse it (400) unless it carries this browser's token."""
    if request.method != "POST":
        return
    given = request.form.get("csrf_token", "")
    session = current()
    expected = session.csrf if session else request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(400, "This form had expired or did not come from the console. Go back, reload the "
                   "page and try again.")


def throttled(name: str) -> bool:
    since = datetime.now(UTC) - THROTTLE
    return store().sign_in_failures(name, request.remote_addr, since) >= MAX_FAILURES


def note_failure(name: str) -> None:
    store().record_sign_in_failure(name, request.remote_addr, datetime.now(UTC))


def signed_in(view: Handler) -> Handler:
    """Only for someone signed in: anyone else is sent to the sign-in page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current() is None:
            return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def clerks_only(view: Handler) -> Handler:
    """Only a clerk may see this (Part 2, originals, personal details) or do this (any action)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        session = current()
        if session is None:
            return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
        if session.user.role != "clerk":
            abort(403, "Only a clerk can see this or do this. Ask a clerk if you need it.")
        return view(*args, **kwargs)

    return wrapper


def who() -> str:
    session = current()
    return session.user.name if session else "nobody"
