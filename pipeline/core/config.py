"""Where the pipeline keeps its files: one frozen `Settings`, built once and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import ConfigError
from pipeline.core.marking import DEFAULT_MARKING

HOME_ENV = "PIPELINE_HOME"


@dataclass(frozen=True)
class Settings:
    """The folders and files of one pipeline home."""

    home: Path

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        return self.home / "rejected"

    @property
    def mailbox(self) -> Path:
        """Each message fetched from the IMAP mailbox, saved whole before it is read."""
        return self.home / "mailbox"

    @property
    def database(self) -> Path:
        return self.home / "pipeline.sqlite3"

    @property
    def forms_dir(self) -> Path:
        """Extra or overriding form definitions the clerk adds without code."""
        return self.home / "forms"

    @property
    def templates_dir(self) -> Path:
        return self.home / "templates" / "docx"

    def ensure_folders(self) -> None:
        for folder in (self.inbox, self.outbox, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)


def settings_for(home: str | os.PathLike[str] | None = None) -> Settings:
    """Settings for `home`, else $PIPELINE_HOME, else the current directory."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or "."
    path = Path(chosen).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"The pipeline home {path} is a file, not a folder.")
    return Settings(home=path)


# --- the home's optional configuration file, pipeline.toml ---------------------------------------

CONFIG_FILE = "pipeline.toml"


@dataclass(frozen=True)
class AuthorityConfig:
    name: str = "Police and Crime Commissioner"
    marking: str = DEFAULT_MARKING


@dataclass(frozen=True)
class PaperConfig:
    """The report format's metadata (Cambridgeshire seed): who a paper is to and from, etc."""

    author: str = "Chief Executive"
    contact_officer: str = "Partnerships Officer"
    contact_phone: str = ""
    location: str = ""
    originating_officer: str = "Partnerships Officer"
    cleared_with: str = "Chief Executive, Treasurer"
    source_documents: str = "Returned partnership forms held by the pipeline"


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # "none", "starttls" or "ssl"
    username: str = ""
    password_env: str = "PIPELINE_SMTP_PASSWORD"  # the password is read from this variable
    sender: str = "partnerships@localhost"
    reply_to: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class ImapConfig:
    """The mailbox members send their returns to (`pipeline mail fetch`); unused while host is ""."""

    host: str = ""
    port: int = 0  # 0: the usual port for `security` (993 for ssl, 143 otherwise)
    security: str = "ssl"  # "ssl", "starttls" or "none" (none only to this computer)
    username: str = ""
    password_env: str = "PIPELINE_IMAP_PASSWORD"  # the password is read from this variable
    oauth2_token_command: str = ""  # prints an OAuth2 access token: XOAUTH2 instead of a password
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    not_forms_folder: str = "Not forms"
    move: bool = True  # false: leave messages where they are, marked with a keyword instead
    interval_minutes: float = 5
    ca_file: str = ""  # a certificate authority to trust besides the system's (a private server)
    timeout: float = 30.0


@dataclass(frozen=True)
class ScheduleConfig:
    papers_lead_days: int = 2  # generate papers this many working days before the deadline
    chase_interval_days: int = 3
    max_chasers: int = 3  # then the form shows as missing in 'pipeline status', unchased
    send_receipts: bool = True
    monitoring_send_days_before: int = 3  # personalised monitoring forms go this long ahead
    survey_month: int = 4  # the annual stakeholder survey goes out from this month (April)
    clerk_email: str = ""  # told when papers are ready (default: the reply-to or sender address)


STANDING_ITEMS = ("Apologies for absence", "Declarations of interest", "Minutes of the last meeting")


@dataclass(frozen=True)
class PublishConfig:
    """The public agenda and publication folder (`pipeline publish`, the Part 1 pack's agenda)."""

    place: str = ""  # where the committee meets, e.g. "Council Chamber, Guildhall, Hull"
    accessibility_contact: str = ""  # who to ask for a paper in another format (default: contact officer)
    standing_items: tuple[str, ...] | list[str] = STANDING_ITEMS  # before the papers, in this order


@dataclass(frozen=True)
class WatchConfig:
    """How long a file in the inbox must stay unchanged (size and time) before it is taken, and
    how long a worker may be silent before another takes over the files it claimed."""

    quiet_seconds: float = 3.0  # with file events
    polling_quiet_seconds: float = 10.0  # polling a network share, which reports writes late
    claim_timeout_seconds: float = 60.0  # a worker silent this long (killed) loses its files


@dataclass(frozen=True)
class FormsConfig:
    """Who forms go back to, and whether a form shows the document its wording comes from."""

    return_name: str = ""  # a person's name, if forms should name one
    return_role: str = "the Partnerships Officer"
    return_email: str = ""  # default: [smtp] reply_to, else sender
    show_source: bool = False  # the "Source: ..." line under a form's title


@dataclass(frozen=True)
class WebConfig:
    """The clerk's console (`pipeline web`; `pipeline serve` runs it too when enabled)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    trust_proxy: bool = False  # believe X-Forwarded-Proto/-For from the authority's HTTPS proxy
    idle_minutes: int = 30  # signed out after this long without a page being opened
    max_upload_mb: int = 20


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the store lives: empty = the SQLite file in the home; else a PostgreSQL URL."""

    url: str = ""  # postgresql://user@host:5432/dbname (PIPELINE_DATABASE_URL wins)


@dataclass(frozen=True)
class Config:
    authority: AuthorityConfig = AuthorityConfig()
    papers: PaperConfig = PaperConfig()
    smtp: SmtpConfig = SmtpConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    imap: ImapConfig = ImapConfig()
    watch: WatchConfig = WatchConfig()
    forms: FormsConfig = FormsConfig()
    publish: PublishConfig = PublishConfig()
    web: WebConfig = WebConfig()
    database: DatabaseConfig = DatabaseConfig()


def has_section(settings: Settings, section: str) -> bool:
    """Whether the home's pipeline.toml has `[section]` (an unreadable file is load_config's to report)."""
    import tomllib

    try:
        return section in tomllib.loads((settings.home / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False


DATABASE_URL_ENV = "PIPELINE_DATABASE_URL"


def database_url(settings: Settings) -> str | None:
    """The PostgreSQL URL the home's store is at, or None for the SQLite file in the home.

    PIPELINE_DATABASE_URL wins over `[database] url` in pipeline.toml."""
    chosen = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not chosen and (settings.home / CONFIG_FILE).exists():
        chosen = load_config(settings).database.url.strip()
    if not chosen:
        return None
    if not chosen.startswith(("postgresql://", "postgres://")):
        scheme = chosen.split(":")[0]
        raise ConfigError(f"The database URL must start with postgresql:// (it starts {scheme}:);"
                          " leave it out to use the SQLite file in the home.")
    return chosen


def load_config(settings: Settings) -> Config:
    """`<home>/pipeline.toml` if present (every key optional), else the defaults."""
    import dataclasses
    import tomllib

    path = settings.home / CONFIG_FILE
    if not path.exists():
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"The settings file {path} could not be read: {exc}") from exc
    parts = {}
    for section in dataclasses.fields(Config):
        kind = section.default.__class__
        given = raw.get(section.name, {})
        known = {f.name for f in dataclasses.fields(kind)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigError(f"{path}: [{section.name}] has unknown setting(s) {', '.join(unknown)}.")
        parts[section.name] = kind(**given)
    return Config(**parts)
