"""A team's shared contact log: PostgreSQL by OUTREACH_DATABASE_URL, who did what, `log check`, `log migrate`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from commands import run
from postgres_server import PostgresServer, free_port

from outreach.errors import ExitCode
from outreach.ledger import DATABASE_FILE, SCHEMA_VERSION, Ledger, LedgerError, redact
from outreach.ledger.postgres import tls_options

CAMPAIGN = "ipem-2024"


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real outbox of three letters (Markdown only), drafted once under its own OUTREACH_HOME."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("draft-home")))
        patch.delenv("OUTREACH_DATABASE_URL", raising=False)
        out = tmp_path_factory.mktemp("drafted") / "outbox"
        run(
            "draft", "--allow-stale-posts", "--member", "4366", "--member", "Keir Starmer", "--member", "Wera Hobhouse",
            "--format", "md", "--out", str(out),
        )  # fmt: skip
        yield out


@pytest.fixture
def outbox(drafted: Path, tmp_path: Path) -> Path:
    """A copy of the drafted outbox that a test may change."""
    return Path(shutil.copytree(drafted, tmp_path / "outbox"))


def seed(outbox: Path, user: str = "alice") -> None:
    """Log the outbox as posted, a reply and a suppression, as `user`."""
    env = {"OUTREACH_USER": user}
    run("log", "add", "--from-manifest", str(outbox), "--date", "2026-10-01", "--reference", "RM1", env=env)
    run("reply", "4602", "--outcome", "meeting", "--date", "2026-10-09", "--note", "office rang", env=env)
    run("suppress", "4366", "--reason", "asked not to be written to, 2026-10-02", env=env)


# -- OUTREACH_DATABASE_URL ----------------------------------------------------------------------------------------


def test_a_network_database_gets_verified_tls_unless_the_url_says_otherwise() -> None:
    assert tls_options("postgresql://outreach@db.ipem.example.org/outreach", {}) == {"sslmode": "verify-full"}
    assert tls_options("postgresql://outreach@10.0.0.5:5432/outreach", {}) == {"sslmode": "verify-full"}
    assert tls_options("postgresql://outreach@db.example.org/outreach?sslmode=require", {}) == {}
    assert tls_options("postgresql://outreach@db.example.org/outreach", {"PGSSLMODE": "disable"}) == {}
    for local in ("postgresql://outreach@127.0.0.1/o", "postgresql://outreach@localhost/o", "postgresql:///o"):
        assert tls_options(local, {}) == {}
    assert tls_options("postgresql:///o", {"PGHOST": "db.example.org"}) == {"sslmode": "verify-full"}


def test_a_password_is_never_printed() -> None:
    assert redact("postgresql://alice:s3cret%21@db.example.org:5432/outreach") == (
        "postgresql://alice:***@db.example.org:5432/outreach"
    )
    assert "hunter2" not in redact("postgresql://alice@db/outreach?password=hunter2&sslmode=require")
    port = free_port()  # nothing listens there
    url = f"postgresql://alice:hunter2@127.0.0.1:{port}/outreach"
    for args in (("log",), ("log", "check"), ("followups",)):
        _, stderr = run(*args, env={"OUTREACH_DATABASE_URL": url}, expect=ExitCode.SOURCE)
        (line,) = stderr.strip().splitlines()
        assert f"postgresql://alice:***@127.0.0.1:{port}/outreach: cannot reach the contact log" in line
        assert "hunter2" not in stderr
    _, stderr = run("log", env={"OUTREACH_DATABASE_URL": "mysql://alice:hunter2@db/x"}, expect=ExitCode.FAILURE)
    assert "OUTREACH_DATABASE_URL: give a postgresql://" in stderr and "hunter2" not in stderr


def test_a_newer_schema_in_the_team_database_is_refused_with_one_line(postgres: PostgresServer) -> None:
    url = postgres.create_database("newer_schema")
    try:
        Ledger(url).close()
        with psycopg.connect(url, autocommit=True) as raw:
            raw.execute("UPDATE outreach_schema SET version = version + 1")
        with pytest.raises(LedgerError) as refused:
            Ledger(url)
        assert str(refused.value) == (
            f"{redact(url)}: schema version {SCHEMA_VERSION + 1} is newer than this outreach understands "
            f"({SCHEMA_VERSION}); upgrade outreach to read it"
        )
        stdout, stderr = run("log", "check", env={"OUTREACH_DATABASE_URL": url}, expect=ExitCode.FAILURE)
        assert f"version {SCHEMA_VERSION + 1} is newer" in stdout and "1 problem found" in stderr
        assert postgres.password not in stdout + stderr
    finally:
        postgres.drop_database("newer_schema")


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_draft_on_another_machine_skips_what_the_team_has_sent(
    database: str, outbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("log", "add", "--from-manifest", str(outbox), "--date", "2026-10-01", env={"OUTREACH_USER": "alice"})
    monkeypatch.setenv("OUTREACH_HOME", str(tmp_path / "bobs-laptop"))  # another machine, the same team log
    draft = ("draft", "--allow-stale-posts", "--member", "4366", "--format", "md", "--out", str(tmp_path / "o"))
    _, stderr = run(*draft, expect=ExitCode.FAILURE)
    assert "nothing to draft: Skipped 1 letter already sent (or uncertain) in ipem-2024" in stderr
    assert not (tmp_path / "bobs-laptop" / DATABASE_FILE).exists()  # nothing local: the log is the team's
    logged = json.loads(run("log", "--json", "--by", "alice")[0])
    assert len(logged) == 3 and {entry["by"] for entry in logged} == {"alice"}
    assert json.loads(run("log", "--json", "--by", "bob")[0]) == []


# -- outreach log check -------------------------------------------------------------------------------------------


def test_log_check_passes_a_sound_log(database: str, outbox: Path) -> None:
    seed(outbox)
    stdout, _ = run("log", "check")
    assert "no problems" in stdout
    assert json.loads(run("log", "check", "--json")[0]) == []


def _break_log(database: str) -> None:
    """Write what the log's own rules forbid: a reply to no contact, an e-mail sent with no Message-ID, a state
    outreach does not know. Each engine's constraints must be set aside to do it, as a careless hand might."""
    wrong = [
        "INSERT INTO replies (contact_id, outcome, reply_date, note, recorded_at) "
        "VALUES (9999, 'none', '2026-10-09', '', '2026-10-09T10:00:00+00:00')",
        "INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks, content_sha256, "
        "attempts, queued_at, sent_at, updated_at) VALUES ('ipem-2024', '4514-seat', 'email', 4514, "
        "'Sir Keir Starmer', 'keir.starmer.mp@parliament.uk', 'sent', 'ai', '', 1, '2026-10-01T10:00:00+00:00', "
        "'2026-10-01T10:00:00+00:00', '2026-10-01T10:00:00+00:00')",
        "UPDATE contacts SET state = 'lost' WHERE letter_id = '4366-seat'",
    ]
    if database == "sqlite":
        raw = sqlite3.connect(Path(Ledger.open_default().target))
        raw.execute("PRAGMA ignore_check_constraints = ON")
        for statement in wrong:
            raw.execute(statement)
        raw.commit()
        raw.close()
        return
    with Ledger.open_default() as ledger, psycopg.connect(str(ledger.target), autocommit=True) as raw:
        raw.execute("SET session_replication_role = replica")  # foreign keys unchecked (a superuser's power)
        checks = raw.execute("SELECT conname FROM pg_constraint WHERE contype = 'c' AND conname LIKE '%state%'")
        for (name,) in checks.fetchall():
            raw.execute(f'ALTER TABLE contacts DROP CONSTRAINT "{name}"')
        for statement in wrong:
            raw.execute(statement)


def test_log_check_names_each_problem_and_exits_1(database: str, outbox: Path) -> None:
    seed(outbox)
    _break_log(database)
    stdout, stderr = run("log", "check", expect=ExitCode.FAILURE)
    listed = json.loads(run("log", "check", "--json", expect=ExitCode.FAILURE)[0])
    found = {item["check"]: item["detail"] for item in listed}
    assert found["replies"].startswith("replies to no contact (1): reply ids ")
    assert found["message id"] == "e-mails sent with no Message-ID (1): ipem-2024/4514-seat (email)"
    assert found["state"] == "contacts in an unknown state (1): ipem-2024/4366-seat (post)"
    if database == "sqlite":  # SQLite's own quick_check finds the broken CHECK too
        assert "CHECK constraint failed in contacts" in found["integrity"]
    (line,) = stderr.strip().splitlines()
    assert len(listed) == 3 + (database == "sqlite")
    assert line.endswith(f": {len(listed)} problems found in the contact log")
    assert "4514-seat" in stdout


def test_log_check_on_no_log_creates_nothing(outreach_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
    stdout, _ = run("log", "check")
    assert "no contact log yet" in stdout and not (outreach_home / DATABASE_FILE).exists()


# -- outreach log migrate --to URL --------------------------------------------------------------------------------


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    """Return every contact as --json shows it, without the fields each log numbers itself."""
    return [contact.as_json() for contact in ledger.contacts()]


@pytest.fixture
def team_url(postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty team database; the test itself works on the local SQLite log."""
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
    url = postgres.create_database("team_log")
    yield url
    postgres.drop_database("team_log")


def test_log_migrate_copies_the_local_log_once_in_one_transaction(
    team_url: str, outbox: Path, outreach_home: Path, postgres: PostgresServer
) -> None:
    seed(outbox)
    with Ledger(outreach_home / DATABASE_FILE) as local:
        local_rows, local_id = _rows(local), local.log_id()
        local_suppressions = local.suppressions()
    stdout, stderr = run("log", "migrate", "--to", team_url)
    assert "Copied 3 contacts, 1 replies and 1 suppressions" in stdout
    assert postgres.password not in stdout + stderr and redact(team_url) in stdout
    with Ledger(team_url) as team:
        assert _rows(team) == local_rows and team.suppressions() == local_suppressions
        assert local_id in team.known_log_ids() and team.log_id() != local_id
    # Again: identical rows are left as they are.
    stdout, _ = run("log", "migrate", "--to", team_url)
    assert "Copied 0 contacts, 0 replies and 0 suppressions" in stdout and "3 contacts" in stdout
    with Ledger(team_url) as team:
        assert _rows(team) == local_rows


def test_log_migrate_refuses_a_different_row_and_writes_nothing(team_url: str, outbox: Path) -> None:
    seed(outbox)
    run("log", "migrate", "--to", team_url)
    # The local log moves on: a new suppression, and a changed one.
    run("suppress", "4602", "--reason", "retired from the House")
    run("suppress", "4366", "--reason", "asked again, 2026-11-01")
    with Ledger(team_url) as team:
        before = (_rows(team), team.suppressions())
    _, stderr = run("log", "migrate", "--to", team_url, expect=ExitCode.FAILURE)
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: suppression of member 4366: already in postgresql://")
    assert "different reason" in line and line.endswith("nothing was copied")
    with Ledger(team_url) as team:
        assert (_rows(team), team.suppressions()) == before  # 4602's new suppression was not copied either


def test_log_migrate_wants_a_team_database_and_a_local_log(team_url: str, outreach_home: Path) -> None:
    _, stderr = run("log", "migrate", "--to", "sqlite:///elsewhere.db", expect=ExitCode.FAILURE)
    assert "--to: give the team's database as postgresql://" in stderr
    _, stderr = run("log", "migrate", "--to", team_url, expect=ExitCode.FAILURE)
    assert f"{outreach_home / DATABASE_FILE}: no local contact log to copy" in stderr


# -- the README's least-rights role -------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_sql(marker: str) -> list[str]:
    """Return the statements of the README's SQL block after `<!-- marker -->`."""
    block = README.read_text(encoding="utf-8").split(f"<!-- {marker} -->\n```sql\n", 1)[1].split("```", 1)[0]
    return [statement.strip() for statement in block.split(";") if statement.strip()]


def test_the_readmes_least_rights_role_does_all_the_tool_does_and_no_more(
    postgres: PostgresServer, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set a team's database up exactly as the README says, then work as the team's role."""
    with postgres.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS outreach WITH (FORCE)")
        admin.execute("DROP ROLE IF EXISTS outreach_owner")
        admin.execute("DROP ROLE IF EXISTS outreach_team")
        for statement in readme_sql("team-sql-1"):
            admin.execute(statement)
    try:
        owner = postgres.url("outreach", user="outreach_owner", password="change-me")
        team = postgres.url("outreach", user="outreach_team", password="change-me-too")
        run("log", env={"OUTREACH_DATABASE_URL": owner})  # the owner's first command creates the tables
        with psycopg.connect(owner, autocommit=True) as as_owner:
            for statement in readme_sql("team-sql-2"):
                as_owner.execute(statement)
        monkeypatch.setenv("OUTREACH_DATABASE_URL", team)
        seed(outbox, user="carol")
        run("suppress", "4366", "--remove")
        with Ledger(team) as ledger:
            ledger.enqueue(
                campaign=CAMPAIGN, letter_id="4514-seat", channel="email", member_id=4514, name="Sir Keir Starmer",
                recipient="keir.starmer.mp@parliament.uk", asks=("ai",), content_sha256="", message_id="<1@ipem>",
            )  # fmt: skip
            assert ledger.claim(CAMPAIGN, "4514-seat", "email") is not None and ledger.renew_leases() == 1
            ledger.mark_sent(CAMPAIGN, "4514-seat", "email")
            assert ledger.settle_interrupted() == []
            assert len(ledger.contacts(by="carol")) == 3 == len(ledger.contacts()) - 1
        assert "no problems" in run("log", "check")[0]
        with psycopg.connect(team, autocommit=True) as as_team:
            for forbidden in ("DELETE FROM contacts", "DROP TABLE replies", "CREATE TABLE spare (x int)"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    as_team.execute(forbidden)
    finally:
        postgres.drop_database("outreach")


def test_several_first_commands_on_a_new_team_database_migrate_it_once(postgres: PostgresServer) -> None:
    """Three people start outreach at once against a database that holds no log yet: one creates it, none fails
    (before the fix, the others nearly always tried to create the tables again)."""
    url = postgres.create_database("first_commands")
    try:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OUTREACH_DATABASE_URL": url}
        command = [sys.executable, "-m", "outreach", "log", "--json"]
        starting = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "abc"]
        for process in starting:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr.decode()
            assert json.loads(stdout) == []
        with Ledger(url) as ledger:
            assert ledger.schema_version() == SCHEMA_VERSION and len(ledger.known_log_ids()) == 1
    finally:
        postgres.drop_database("first_commands")
