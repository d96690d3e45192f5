"""The SQLite store: opening and migrating, intakes, submissions and their values, events."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.core.errors import StoreError
from pipeline.store import (
    IntakeOutcome,
    NewIntake,
    NewSubmission,
    Problem,
    Store,
    SubmissionStatus,
)
from pipeline.store.schema import MIGRATIONS

RECEIVED = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)


def new_intake(name: str = "0001-return.docx", sha256: str = "a" * 64, **changes) -> NewIntake:
    fields = dict(
        intake_name=name,
        original_name="return.docx",
        source_path="/inbox/return.docx",
        sha256=sha256,
        size=1234,
        sender="clerk@example.gov.uk",
        sent_at=None,
        received_at=RECEIVED,
    )
    return NewIntake(**(fields | changes))


def new_submission(key: str = '["Northtown"]', sha256: str | None = None,
                   **changes) -> NewSubmission:
    """A return; each made with its own bytes unless `sha256` says (the same bytes are stored once)."""
    sha256 = sha256 or uuid.uuid4().hex * 2
    fields = dict(
        form_id="monitoring",
        form_version=1,
        form_hash="h1",
        token="tok1",
        partnership="Northtown",
        record_key=key,
        sha256=sha256,
        sender="clerk@example.gov.uk",
        received_at=RECEIVED,
        late=False,
        due_date=date(2025, 3, 31),
        marking="OFFICIAL",
        values={"name": "Northtown CSP"},
    )
    return NewSubmission(**(fields | changes))


def accept(store: Store, name: str, submission: NewSubmission) -> tuple[int, list[int]]:
    """What the ingest does with an accepted file: intake, submission, finish."""
    intake_id = store.add_intake(new_intake(name, submission.sha256))
    submission_id, superseded = store.add_submission(submission, intake_id)
    store.finish_intake(intake_id, outcome="accepted", submission_id=submission_id)
    return submission_id, superseded


@pytest.fixture
def store(tmp_path: Path, backend: str):
    """A new, empty store: the SQLite file, and (a second run) a fresh PostgreSQL database."""
    path = tmp_path / "db" / "pipeline.sqlite3"
    with Store.open(path) if backend == "sqlite" else Store.connect(backend) as opened:
        yield opened


class TestOpening:
    def test_creates_the_folder_and_uses_wal(self, tmp_path: Path):
        path = tmp_path / "new" / "folder" / "pipeline.sqlite3"
        with Store.open(path):
            pass
        assert path.is_file()
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)

    def test_connection_pragmas(self, tmp_path: Path):
        store = Store.open(tmp_path / "pipeline.sqlite3")
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL

    def test_reopening_keeps_data_and_does_not_migrate_again(self, tmp_path: Path):
        path = tmp_path / "pipeline.sqlite3"
        with Store.open(path) as store:
            store.add_intake(new_intake())
        with Store.open(path) as store:
            assert store.intake_by_name("0001-return.docx") is not None
            assert store._db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)

    def test_a_newer_database_is_refused(self, tmp_path: Path):
        path = tmp_path / "pipeline.sqlite3"
        Store.open(path).close()
        raw = sqlite3.connect(path)
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
        raw.close()
        with pytest.raises(StoreError, match="newer version of the pipeline.*Upgrade"):
            Store.open(path)

    def test_a_file_that_is_not_a_database_is_refused_plainly(self, tmp_path: Path):
        path = tmp_path / "pipeline.sqlite3"
        path.write_bytes(b"This is a shopping list, not a database.\n" * 100)
        with pytest.raises(StoreError, match="could not be opened: the file is not a pipeline"):
            Store.open(path)

    def test_a_folder_in_place_of_the_file_is_refused(self, tmp_path: Path):
        with pytest.raises(StoreError, match="could not be opened"):
            Store.open(tmp_path)

    def test_a_failed_transaction_leaves_nothing_behind(self, store: Store):
        with pytest.raises(RuntimeError), store.transaction():
            store.add_intake(new_intake())
            raise RuntimeError("the ingest fell over")
        assert store.intake_by_name("0001-return.docx") is None

    def test_a_failure_inside_a_transaction_undoes_only_its_own_part(self, store: Store):
        with store.transaction():
            store.add_intake(new_intake("0001.docx"))
            with pytest.raises(StoreError):
                store.add_intake(new_intake("0001.docx"))  # the same name again
            store.add_intake(new_intake("0002.docx"))
        assert [i.intake_name for i in store.intakes()] == ["0002.docx", "0001.docx"]

    def test_a_failed_resubmission_leaves_the_earlier_one_current(self, store: Store):
        first, _ = accept(store, "0001.docx", new_submission())
        with store.transaction():
            with pytest.raises(StoreError, match="could not store a return of form monitoring"):
                store.add_submission(new_submission(sha256="b" * 64), intake_id=999)
            store.log("store", "failed")
        [current] = store.records("monitoring")
        assert (current.submission_id, current.status, current.superseded_by) == (first, "current", None)

    def test_processes_opening_a_new_file_at_once_migrate_it_once(self, tmp_path: Path):
        path = tmp_path / "pipeline.sqlite3"

        def open_and_log(n: int) -> None:
            with Store.open(path) as store:
                store.log("watch", f"started {n}")

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(open_and_log, range(6)))
        with Store.open(path) as store:
            assert len(store.events()) == 6
            assert store._db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)

    def test_two_connections_see_each_others_writes(self, tmp_path: Path):
        path = tmp_path / "pipeline.sqlite3"
        with Store.open(path) as watcher, Store.open(path) as clerk:
            assert clerk.records("monitoring") == []
            accept(watcher, "0001-return.docx", new_submission())
            assert [r.values for r in clerk.records("monitoring")] == [{"name": "Northtown CSP"}]
            clerk.log("watch", "started")
            assert [e.step for e in watcher.events()] == ["watch"]


class TestValues:
    def test_values_round_trip_exactly(self, store: Store):
        values = {
            "quoted": 'She said "no" -- it\'s fine; DROP TABLE answers;',
            "lines": "first line\nsecond line\r\n\ttabbed",
            "unicode": "Ysgol Gymraeg — café ✓ 北",
            "formula": "=SUM(A1:A9)",
            "spaces": "  padded  ",
            "integer": 42,
            "zero": 0,
            "float": 2.5,
            "float_whole": 3.0,
            "number_as_text": "007",
            "date": "2025-03-31",
            "choices": ["zeta", "alpha", "mu"],
            "one_choice": ["only"],
            "table": [
                {"name": "Ann", "hours": 7.5, "role": None},
                {"name": None, "hours": 3, "role": "chair"},
                {"name": "", "hours": None, "role": "minutes"},
            ],
        }
        submission_id, _ = accept(store, "0001.docx", new_submission(values=values))
        [record] = store.records("monitoring")
        assert record.submission_id == submission_id
        assert record.values == values
        assert type(record.values["float_whole"]) is float
        assert type(record.values["integer"]) is int

    def test_empty_values_and_blank_rows_are_not_kept(self, store: Store):
        values = {
            "none": None,
            "blank": "",
            "no_choices": [],
            "all_blank_table": [{"a": None}],
            "table": [
                {"a": None, "b": "  "},
                {"a": "x", "b": None},
                {"a": None, "b": None},
                {"a": None, "b": "y"},
            ],
        }
        accept(store, "0001.docx", new_submission(values=values))
        [record] = store.records("monitoring")
        assert record.values == {"table": [{"a": "x", "b": None}, {"a": None, "b": "y"}]}

    def test_a_date_object_is_kept_as_its_iso_text(self, store: Store):
        accept(store, "0001.docx", new_submission(values={"met_on": date(2025, 1, 2)}))
        assert store.records("monitoring")[0].values == {"met_on": "2025-01-02"}

    @pytest.mark.parametrize("odd", [{"a": 1}, True, float("nan"), 2**64, [["nested"]]])
    def test_a_value_of_the_wrong_shape_is_refused_before_anything_is_stored(self, store: Store, odd: object):
        intake_id = store.add_intake(new_intake())
        with pytest.raises(ValueError, match="'odd' has a value the database cannot keep"):
            store.add_submission(new_submission(values={"ok": "fine", "odd": odd}), intake_id)
        assert store.records("monitoring") == []

    def test_answers_can_be_counted_in_sql(self, store: Store):
        for n, choice in enumerate(["yes", "no", "yes"]):
            accept(store, f"{n}.docx", new_submission(key=str(n), values={"agreed": choice}))
        counted = store._db.execute(  # on PostgreSQL the value is jsonb: the parameter says so
            "SELECT count(*) FROM answers WHERE field_id = 'agreed' AND value = ?",
            (store._db.answer_value("yes"),)).fetchone()[0]
        assert counted == 2

    def test_records_of_many_submissions_keep_each_ones_values(self, store: Store):
        with store.transaction():
            for n in range(2000):
                submission = new_submission(
                    key=f'["P{n}"]',
                    sha256=f"{n:064x}",
                    values={
                        "n": n,
                        "name": f"Partnership {n}",
                        "ticks": [f"t{n}", "t"],
                        "rows": [{"who": f"w{n}", "hours": n / 4}],
                    },
                )
                accept(store, f"{n:05}.docx", submission)
        records = store.records("monitoring")
        assert len(records) == 2000
        for n, record in enumerate(records):
            assert record.record_key == f'["P{n}"]'
            assert record.values == {
                "n": n,
                "name": f"Partnership {n}",
                "ticks": [f"t{n}", "t"],
                "rows": [{"who": f"w{n}", "hours": n / 4}],
            }


class TestSubmissions:
    def test_a_resubmission_supersedes_the_earlier_return(self, store: Store):
        first, none = accept(store, "0001.docx", new_submission(values={"v": "first"}))
        later = new_submission(
            sha256="b" * 64, received_at=RECEIVED + timedelta(days=1), late=True, values={"v": "second"}
        )
        second, superseded = accept(store, "0002.docx", later)
        assert (none, superseded) == ([], [first])
        [current] = store.records("monitoring")
        assert (current.submission_id, current.values, current.late) == (second, {"v": "second"}, True)
        [old] = store.records("monitoring", status="superseded")
        assert (old.submission_id, old.superseded_by) == (first, second)
        history = store.history("monitoring", '["Northtown"]')
        assert [(r.submission_id, r.status, r.values["v"]) for r in history] == [
            (first, SubmissionStatus.SUPERSEDED, "first"),
            (second, SubmissionStatus.CURRENT, "second"),
        ]

    def test_different_keys_and_forms_do_not_supersede(self, store: Store):
        accept(store, "0001.docx", new_submission(key='["Northtown"]'))
        _, superseded = accept(store, "0002.docx", new_submission(key='["Southvale"]'))
        _, other_form = accept(store, "0003.docx", new_submission(form_id="survey"))
        assert superseded == [] and other_form == []
        assert len(store.records("monitoring")) == 2
        assert len(store.records("survey")) == 1

    def test_record_fields(self, store: Store):
        received = datetime(2025, 3, 14, 10, 30, tzinfo=timezone(timedelta(hours=1)))
        accept(store, "0001.docx", new_submission(received_at=received))
        [record] = store.records("monitoring")
        assert record.received_at == "2025-03-14T09:30:00Z"
        assert (record.form_version, record.token, record.partnership) == (1, "tok1", "Northtown")
        assert (record.due_date, record.late, record.marking) == ("2025-03-31", False, "OFFICIAL")
        assert record.sender == "clerk@example.gov.uk"

    def test_submission_by_sha256_finds_the_same_bytes(self, store: Store):
        submission_id, _ = accept(store, "0001.docx", new_submission(sha256="c" * 64))
        found = store.submission_by_sha256("c" * 64)
        assert found is not None
        assert (found.id, found.form_id, found.status) == (submission_id, "monitoring", "current")
        assert store.submission_by_sha256("d" * 64) is None


class TestIntakes:
    def test_intake_by_name_tells_whether_it_was_finished(self, store: Store):
        intake_id = store.add_intake(new_intake("0001-return.docx", sent_at=RECEIVED))
        started = store.intake_by_name("0001-return.docx")
        assert started is not None and not started.finished
        assert (started.id, started.sent_at, started.received_at) == (
            intake_id,
            "2025-03-14T09:30:00Z",
            "2025-03-14T09:30:00Z",
        )
        store.finish_intake(intake_id, outcome=IntakeOutcome.ACCEPTED, archived_path="/a/1.docx")
        finished = store.intake_by_name("0001-return.docx")
        assert finished is not None and finished.finished
        assert (finished.outcome, finished.archived_path) == ("accepted", "/a/1.docx")
        assert store.intake_by_name("9999-other.docx") is None

    def test_a_rejection_keeps_its_reason_and_problems_in_order(self, store: Store):
        intake_id = store.add_intake(new_intake())
        problems = [
            ("budget", "Total budget (£)", "Enter a number, like 1500."),
            (None, None, "The form's identity is missing."),
            ("met_on", "Date of meeting", "Enter a date, like 31/03/2025."),
        ]
        store.finish_intake(
            intake_id,
            outcome="rejected",
            reason="3 problems",
            report_path="/outbox/report.docx",
            problems=problems,
        )
        [rejected] = store.intakes(outcome="rejected")
        assert rejected.reason == "3 problems"
        assert rejected.report_path == "/outbox/report.docx"
        assert rejected.problems == tuple(Problem(*p) for p in problems)
        assert rejected.problems[0].label == "Total budget (£)"

    def test_finishing_again_replaces_the_problems(self, store: Store):
        intake_id = store.add_intake(new_intake())
        store.finish_intake(intake_id, outcome="rejected", problems=[(None, None, "Old.")])
        store.finish_intake(intake_id, outcome="rejected", problems=[("f", "F", "New.")])
        row = store.intake_by_name("0001-return.docx")
        assert row is not None and row.problems == (Problem("f", "F", "New."),)

    def test_an_email_and_its_attachments(self, store: Store):
        email = store.add_intake(new_intake("0001-mail.msg", sha256="e" * 64))
        attachment = store.add_intake(new_intake("0002-form.docx", parent_intake_id=email))
        store.finish_intake(email, outcome="container")
        row = store.intake_by_name("0002-form.docx")
        assert row is not None and (row.id, row.parent_intake_id) == (attachment, email)

    def test_a_duplicate_points_at_the_submission(self, store: Store):
        submission_id, _ = accept(store, "0001.docx", new_submission())
        again = store.add_intake(new_intake("0002.docx"))
        store.finish_intake(again, outcome="duplicate", duplicate_of=submission_id)
        [row] = store.intakes(outcome="duplicate")
        assert row.duplicate_of == submission_id

    def test_intakes_newest_first_with_a_limit(self, store: Store):
        for n in range(5):
            store.add_intake(new_intake(f"{n}.docx"))
        assert [i.intake_name for i in store.intakes(limit=3)] == ["4.docx", "3.docx", "2.docx"]

    def test_an_unknown_outcome_or_intake_is_refused(self, store: Store):
        intake_id = store.add_intake(new_intake())
        with pytest.raises(ValueError):
            store.finish_intake(intake_id, outcome="lost")
        with pytest.raises(StoreError, match="no file taken in with number 999"):
            store.finish_intake(999, outcome="accepted")

    def test_the_same_intake_name_twice_is_a_store_error(self, store: Store):
        store.add_intake(new_intake("0001.docx"))
        with pytest.raises(StoreError, match="could not record the file return.docx"):
            store.add_intake(new_intake("0001.docx"))


class TestEventsAndCounts:
    def test_events_for_one_intake_in_order(self, store: Store):
        intake_id = store.add_intake(new_intake())
        store.log("watch", "started")
        store.log("preflight", "ok", intake_id=intake_id)
        store.log("validate", "rejected", "2 problems", intake_id=intake_id)
        events = store.events(intake_id)
        assert [(e.step, e.outcome, e.detail) for e in events] == [
            ("preflight", "ok", None),
            ("validate", "rejected", "2 problems"),
        ]
        assert [e.step for e in store.events()] == ["watch", "preflight", "validate"]
        assert [e.step for e in store.events(limit=2)] == ["preflight", "validate"]
        assert events[0].at.endswith("Z")

    def test_counts(self, store: Store):
        accept(store, "1.docx", new_submission())
        accept(store, "2.docx", new_submission(sha256="b" * 64))
        store.finish_intake(store.add_intake(new_intake("3.docx")), outcome="rejected")
        store.add_intake(new_intake("4.docx"))
        counts = store.counts()
        assert counts["accepted"] == 2 and counts["rejected"] == 1
        assert counts["processing"] == 1 and counts["duplicate"] == 0
        assert (counts["current"], counts["superseded"]) == (1, 1)


def test_an_older_return_stored_after_a_newer_one_goes_into_the_history(tmp_path):
    from datetime import UTC, datetime

    from pipeline.store import NewIntake, NewSubmission, Store

    def submit(store: Store, name: str, received: datetime, length: str) -> int:
        intake = store.add_intake(NewIntake(name, name, None, name, 1, None, None, received))
        new = NewSubmission("monitoring", 1, None, None, "Hull", '["monitoring","hull"]', name,
                            None, received, False, None, None, {"meeting_length": length})
        return store.add_submission(new, intake)[0]

    with Store.open(tmp_path / "db.sqlite3") as store:
        newer = submit(store, "b", datetime(2026, 11, 14, tzinfo=UTC), "3 hours")
        older = submit(store, "a", datetime(2026, 11, 12, tzinfo=UTC), "9 hours")
        current = store.records("monitoring")
        assert [r.submission_id for r in current] == [newer]
        assert current[0].values["meeting_length"] == "3 hours"
        history = {r.submission_id: r.superseded_by
                   for r in store.history("monitoring", '["monitoring","hull"]')}
        assert history == {newer: None, older: newer}


class TestClaims:
    def test_a_file_is_claimed_by_one_worker_and_taken_over_when_its_worker_falls_silent(self, store: Store):
        start = datetime(2026, 11, 7, 9, 0, tzinfo=UTC)
        minute = timedelta(minutes=1)
        assert store.claim("return.docx", "a:1", start, stale_before=start - 5 * minute)
        assert not store.claim("return.docx", "b:2", start + minute, stale_before=start - 4 * minute)
        assert store.claim("return.docx", "a:1", start + minute, stale_before=start - 4 * minute)
        assert store.renew_claim("return.docx", "a:1", start + 2 * minute)
        # a:1 says nothing more (killed): five minutes on, b:2 takes the file over
        assert store.claim("return.docx", "b:2", start + 8 * minute, stale_before=start + 3 * minute)
        assert not store.renew_claim("return.docx", "a:1", start + 9 * minute)
        assert [(c.name, c.worker, c.claimed_at) for c in store.claims()] == [
            ("return.docx", "b:2", "2026-11-07T09:08:00Z")]
        store.release_claim("return.docx", "a:1")  # not a:1's any more: nothing happens
        assert len(store.claims()) == 1
        store.release_claim("return.docx", "b:2")
        assert store.claims() == []
