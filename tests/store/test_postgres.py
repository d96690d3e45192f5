"""The store on a real PostgreSQL server (the session's throwaway cluster): its own types, the
password from where a clerk would put it, one set of migrations, `pipeline db upgrade` and
`pipeline db copy` from a home's SQLite file, and `pipeline check` naming the database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.config import settings_for
from pipeline.core.errors import StoreError
from pipeline.schedule import committees
from pipeline.schedule.register import PartnershipType
from pipeline.store import NewIntake, NewMail, NewSentForm, NewSubmission, Store, WrittenPaper
from pipeline.store.connection import SQLiteDatabase
from pipeline.store.copying import TABLES
from pipeline.store.postgres import PostgresDatabase
from pipeline.store.schema import MIGRATIONS, migrate
from tests.support.postgres import PASSWORD, PASSWORD_USER, Cluster

AT = datetime(2026, 11, 7, 9, 30, tzinfo=UTC)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def with_user(url: str, user: str, password: str | None = None) -> str:
    signed = f"{user}:{password}" if password else user
    return url.replace("postgresql://postgres@", f"postgresql://{signed}@", 1)


# --- connecting ------------------------------------------------------------------------------------


def test_the_password_comes_from_the_url_the_environment_or_pgpass(postgres_cluster: Cluster,
                                                                   tmp_path, monkeypatch):
    admin_url = postgres_cluster.new_database(owner=PASSWORD_USER)
    url = with_user(admin_url, PASSWORD_USER)
    for name in ("PIPELINE_DATABASE_PASSWORD", "PGPASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    with pytest.raises(StoreError, match="refused the user name or password.*PIPELINE_DATABASE_PASSWORD"):
        Store.connect(url)

    with Store.connect(with_user(admin_url, PASSWORD_USER, PASSWORD.replace(" ", "%20"))) as store:
        assert store.schema() == (len(MIGRATIONS), len(MIGRATIONS))  # the clerk's own tables

    monkeypatch.setenv("PIPELINE_DATABASE_PASSWORD", PASSWORD)
    with Store.connect(url) as store:
        store.log("test", "signed in with the password from the environment")
    monkeypatch.delenv("PIPELINE_DATABASE_PASSWORD")

    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:{PASSWORD_USER}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with Store.connect(url) as store:
        assert [e.outcome for e in store.events()] == ["signed in with the password from the environment"]


def test_a_server_that_is_not_there_is_said_plainly(tmp_path):
    with pytest.raises(StoreError, match="could not be opened: the database server could not be reached"):
        Store.connect(f"postgresql://clerk@/pipeline?host={tmp_path}")


def test_the_tables_use_postgresqls_own_types_and_keys(postgres_url: str):
    with Store.connect(postgres_url) as store:
        db = store.connection()
        types = {(r[0], r[1]): r[2] for r in db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema()").fetchall()}
        constraints = db.execute(
            "SELECT constraint_type, count(*) FROM information_schema.table_constraints"
            " WHERE table_schema = current_schema() GROUP BY constraint_type").fetchall()
    assert types["submissions", "received_at"] == types["events", "at"] == "timestamp with time zone"
    assert types["answers", "value"] == "jsonb"
    assert types["partnership_meetings", "meeting_date"] == types["sent_forms", "due_date"] == "date"
    assert types["partnerships", "name"] == "USER-DEFINED"  # citext: names match ignoring capitals
    kinds = dict(constraints)
    assert kinds["FOREIGN KEY"] == sum(m.count("REFERENCES") for m in MIGRATIONS)  # every one of them
    assert kinds["UNIQUE"] >= 8 and kinds["PRIMARY KEY"] == len(TABLES) + 1  # and pipeline_schema


def test_times_and_answers_come_back_as_they_went_in(postgres_url: str):
    values = {"count": 3, "ratio": 3.0, "text": "3", "when": "2026-11-10",
              "rows": [{"issue": "Night-time economy", "cost": 1.5}], "ticks": ["a", "b"]}
    with Store.connect(postgres_url) as store:
        intake = store.add_intake(NewIntake("0001.docx", "a.docx", None, "a" * 64, 10, None, None, AT))
        store.add_submission(NewSubmission("monitoring", 1, None, None, "Hull CSP", "k", "b" * 64, None,
                                           AT, False, date(2026, 11, 17), None, values), intake)
        [record] = store.records("monitoring")
    assert record.values == values and record.received_at == "2026-11-07T09:30:00Z"
    assert record.due_date == "2026-11-17"
    assert [type(record.values[k]) for k in ("count", "ratio", "text")] == [int, float, str]


def test_a_schema_newer_than_this_pipeline_is_refused(postgres_url: str, tmp_path, capsys, monkeypatch):
    Store.connect(postgres_url).close()
    with Store.connect(postgres_url) as store:
        store.connection().execute("UPDATE pipeline_schema SET version = ?", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer version of the pipeline.*Upgrade the pipeline"):
        Store.connect(postgres_url)
    monkeypatch.setenv("PIPELINE_DATABASE_URL", postgres_url)
    status, _, err = run(capsys, "db", "upgrade", "--home", str(tmp_path))
    assert status != 0 and "newer version of the pipeline" in err


def test_processes_opening_a_new_database_at_once_migrate_it_once(postgres_url: str):
    from concurrent.futures import ThreadPoolExecutor

    def open_and_log(n: int) -> None:
        with Store.connect(postgres_url) as store:
            store.log("watch", f"started {n}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(open_and_log, range(4)))
    with Store.connect(postgres_url) as store:
        assert len(store.events()) == 4 and store.schema() == (len(MIGRATIONS), len(MIGRATIONS))


# --- pipeline db upgrade ------------------------------------------------------------------------


def test_db_upgrade_runs_the_migrations_not_yet_run(backend: str, tmp_path, capsys):
    settings = settings_for(tmp_path)
    db = SQLiteDatabase(settings.database) if backend == "sqlite" else PostgresDatabase(backend)
    migrate(db, up_to=5)
    db.close()
    status, out, _ = run(capsys, "db", "status", "--home", str(tmp_path))
    assert status == 0 and f"schema 5 of {len(MIGRATIONS)}; run 'pipeline db upgrade'" in out
    status, out, _ = run(capsys, "db", "upgrade", "--home", str(tmp_path))
    later = ", ".join(str(n) for n in range(6, len(MIGRATIONS) + 1))
    assert status == 0 and f"ran migration(s) {later};" in out and f"schema {len(MIGRATIONS)} of" in out
    status, out, _ = run(capsys, "db", "upgrade", "--home", str(tmp_path))
    assert status == 0 and "already up to date" in out
    with Store.for_home(settings) as store:
        store.add_user("clerk", "clerk", "hash")  # migration 6's table is there
        assert [u.name for u in store.users()] == ["clerk"]


# --- pipeline db copy ---------------------------------------------------------------------------


def a_home_with_everything(home: Path) -> Path:
    """A SQLite home with a register, a calendar, returns (one resubmitted), forms sent, papers,
    events, a console user and the mailbox ledger."""
    settings = settings_for(home)
    (home / "committees.yaml").write_text("committees:\n  - name: Communities Committee\n"
                                          "    papers: [monitoring-summary]\n    meetings: [2026-12-01]\n")
    with Store.for_home(settings) as store:
        store.put_partnership({"name": "Hull CSP", "type": PartnershipType.CDRP.value,
                               "representative_email": "jane@hull.gov.uk", "risk_money": True})
        [hull] = store.partnership_rows()
        store.put_partnership_meeting(hull.id, date(2026, 11, 10), "Hull board", "Guildhall")
        committees.load_yaml(store, home / "committees.yaml")
        ids = []
        for n, meeting_length in enumerate(["2 hours", "3 hours"]):
            intake = store.add_intake(NewIntake(f"000{n}.docx", "form.docx", None, f"{n}" * 64, 10,
                                                "jane@hull.gov.uk", None, AT))
            ids.append(store.add_submission(NewSubmission(
                "monitoring", 1, None, f"token-{n}", "Hull CSP", "hull-2026-11-10", f"{n}" * 64,
                "jane@hull.gov.uk", AT.replace(hour=10 + n), False, None, None,
                {"meeting_length": meeting_length, "pa_issues": [{"issue": "Patrols", "decision": "Yes"}]}),
                intake)[0])
            store.finish_intake(intake, outcome="accepted", submission_id=ids[-1])
        store.record_token("token-1", form_id="monitoring", form_version=1, partnership="Hull CSP",
                           member="Jane", meeting_date=date(2026, 11, 10), sent_to="jane@hull.gov.uk",
                           issued_by="scheduler", at=AT)
        sent = store.record_sent(NewSentForm("token-1", "monitoring", 1, hull.id, "Jane", "jane@hull.gov.uk",
                                             date(2026, 11, 10), date(2026, 11, 17), "monitoring", AT,
                                             "sent.eml"))
        store.mark_returned(sent, ids[-1])
        store.record_paper(WrittenPaper("monitoring-summary", "Communities Committee", date(2026, 12, 1),
                                        (home / "paper.docx",), home / "paper.json", AT))
        store.record_pack("Communities Committee", date(2026, 12, 1), [home / "pack.pdf"], AT)
        store.add_user("Clerk", "clerk", "argon2-hash")
        store.add_mail(NewMail("c" * 64, "<m1@hull>", "INBOX", "jane@hull.gov.uk", "RE: form", None,
                               str(home / "mailbox" / "1.eml"), AT))
        store.record_mail_pass(ok=True, detail="1 message", at=AT)
        store.log("ingest", "accepted", "form.docx", intake_id=1, submission_id=ids[0])
        store.log("console", "dismissed", "a stray file", by_user="Clerk")
    return settings.database


def everything_in(store: Store) -> dict[str, object]:
    return {
        "register": store.partnership_rows(), "meetings": store.partnership_meetings_between(
            date(2026, 1, 1), date(2027, 1, 1)),
        "calendar": store.committee_meetings(), "intakes": store.intakes(),
        "history": store.history("monitoring", "hull-2026-11-10"), "sent": store.all_sent(),
        "token": store.issued_token("token-1"), "papers": store.papers_written(),
        "packs": store.packs_written(), "events": [(e.id, e.at, e.step, e.detail) for e in store.events()],
        "users": store.users(), "mail": store.mails_by_message_id("<m1@hull>"),
        "passes": store.last_mail_pass(), "counts": store.counts(),
    }


def test_db_copy_moves_a_sqlite_home_into_an_empty_postgresql_database(postgres_url: str, tmp_path,
                                                                       capsys, monkeypatch):
    monkeypatch.delenv("PIPELINE_DATABASE_URL", raising=False)
    database = a_home_with_everything(tmp_path)
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    with Store.open(database) as original:
        expected = everything_in(original)

    status, out, _ = run(capsys, "db", "copy", "--to", postgres_url, "--home", str(tmp_path))
    assert status == 0, out
    assert f"Every table ({len(TABLES)}) has the same number of rows in both databases" in out
    assert "2  returns (with their history)" in out and "1  console users" in out
    assert "2  events in the log" in out
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before  # the SQLite file as it was

    monkeypatch.setenv("PIPELINE_DATABASE_URL", postgres_url)
    with Store.for_home(settings_for(tmp_path)) as copy:
        assert everything_in(copy) == expected
        later = copy.add_intake(NewIntake("0009.docx", "new.docx", None, "9" * 64, 1, None, None, AT))
        assert later == max(i.id for i in expected["intakes"]) + 1  # ids go on from the copied ones

    status, _, err = run(capsys, "db", "copy", "--to", postgres_url, "--home", str(tmp_path))
    assert status != 0 and "is not empty, so nothing was copied" in err and "intakes (3)" in err


def test_db_copy_says_plainly_when_there_is_nothing_to_copy(postgres_url: str, tmp_path, capsys):
    status, _, err = run(capsys, "db", "copy", "--to", postgres_url, "--home", str(tmp_path))
    assert status != 0 and "There is no SQLite database" in err


# --- pipeline check ------------------------------------------------------------------------------


def test_check_names_the_database_and_its_schema(backend: str, tmp_path, capsys):
    a_home_with_everything(tmp_path)
    status, out, _ = run(capsys, "check", "--json", "--skip-office", "--home", str(tmp_path))
    database = {item["item"]: item for item in json.loads(out)}["Database"]
    assert database["ok"], database
    kind = "the SQLite file" if backend == "sqlite" else "PostgreSQL database test_"
    assert kind in database["detail"]
    assert f"reachable, schema {len(MIGRATIONS)} of {len(MIGRATIONS)} (current)" in database["detail"]


# --- several workers on one store -------------------------------------------------------------------


def test_a_job_runs_on_one_worker_at_a_time_and_a_dead_workers_lock_is_gone(postgres_url: str):
    with Store.connect(postgres_url) as first, Store.connect(postgres_url) as second:
        with first.exclusive("tick") as mine:
            assert mine
            with second.exclusive("tick") as theirs:
                assert not theirs  # the other worker skips this tick
            with second.exclusive("mailbox") as other_job:
                assert other_job  # another job is not held up
        with second.exclusive("tick") as theirs:
            assert theirs
    killed = Store.connect(postgres_url)
    killed.exclusive("tick").__enter__()
    killed.close()  # as when its process is killed: the server drops the lock with the connection
    with Store.connect(postgres_url) as survivor, survivor.exclusive("tick") as mine:
        assert mine


def test_a_busy_table_is_said_plainly_and_the_change_is_not_half_made(postgres_url: str):
    """Another process holds a lock longer than the store waits: the same plain words as on
    SQLite, and nothing of the change is kept."""
    with Store.connect(postgres_url) as holder, Store.connect(postgres_url, wait_seconds=0.3) as store:
        holder.connection().execute("BEGIN")
        holder.connection().execute("LOCK TABLE action_failures IN EXCLUSIVE MODE")
        with pytest.raises(StoreError, match="another pipeline process is busy with it; try again"):
            store.action_failed("send:x", "refused", AT, limit=3)
        holder.connection().execute("ROLLBACK")
        assert store.action_failed("send:x", "refused", AT, limit=3) == 1  # counted once, now
