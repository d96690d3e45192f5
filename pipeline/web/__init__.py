"""The clerk's console: the pipeline in a browser, for signed-in clerks and viewers.

    create_app(settings, library) -> a Flask app      run_console(settings, library, host, port)

Pages are rendered on the server (Jinja2) and work without JavaScript; the one stylesheet is
served from here, so nothing is loaded from outside. Run it behind the authority's HTTPS proxy
with `[web] trust_proxy = true` so cookies are marked Secure (README: "The clerk's console").
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, g, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from pipeline.core.config import Settings, WebConfig, load_config
from pipeline.core.dates import LONDON, long_date
from pipeline.core.definitions import FormLibrary
from pipeline.web import auth
from pipeline.web.views import console


def create_app(settings: Settings, library: FormLibrary, web: WebConfig | None = None) -> Flask:
    web = web or load_config(settings).web
    app = Flask(__name__)
    app.config.update(PIPELINE_SETTINGS=settings, PIPELINE_LIBRARY=library, PIPELINE_WEB=web,
                      MAX_CONTENT_LENGTH=web.max_upload_mb * 1024 * 1024,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    if web.trust_proxy:  # the proxy's X-Forwarded-Proto says whether the browser used HTTPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.jinja_env.globals.update(csrf_token=auth.csrf_token, current=auth.current)
    app.jinja_env.filters["long_date"] = _long_date
    app.jinja_env.filters["when"] = _when
    app.before_request(auth.load_session)
    app.before_request(auth.check_csrf)
    app.after_request(_headers)
    app.teardown_appcontext(_close_store)
    app.register_error_handler(HTTPException, _error_page)
    app.register_blueprint(console)
    return app


def _long_date(day: date | str) -> str:
    return long_date(date.fromisoformat(day) if isinstance(day, str) else day)


def _when(moment: datetime | str | None) -> str:
    """A stored UTC time as the clerk reads it: `Tuesday 1 December 2026 at 23:06` (UK time)."""
    if not moment:
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(LONDON)
    return f"{_long_date(local.date())} at {local:%H:%M}"


def _headers(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def _close_store(_exc: BaseException | None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


def _error_page(exc: HTTPException):  # type: ignore[no-untyped-def]
    titles = {400: "That did not work", 403: "Not for your role", 404: "Page not found",
              405: "That did not work", 413: "The file is too big", 429: "Too many attempts"}
    title = titles.get(exc.code or 500, "Something went wrong")
    return render_template("error.html", title=title, message=exc.description), exc.code


def run_console(settings: Settings, library: FormLibrary, host: str, port: int,
                web: WebConfig | None = None) -> None:
    """Serve the console with waitress until stopped."""
    from waitress import serve

    app = create_app(settings, library, web)
    serve(app, host=host, port=port, threads=4, ident="pipeline")
