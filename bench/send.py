"""Benchmark sending: prints, from one run, the time `outreach send` takes to e-mail every drafted letter.

1. `outreach draft --all --allow-stale-posts` (Markdown + PDF) into a work folder, from a copy of the IPEM campaign
   signed by a named person, with a sender, a reply address and a telephone (the shipped one is unsigned);
2. a local sink SMTP server in its own process (accepts and discards every message, noting its Message-ID);
3. `outreach send OUTBOX --no-dry-run --yes --per-minute 0`, the whole command as a user runs it, with a fresh
   contact log each run, beside mailmerge 2.3 sending the same number of plain-text messages to the same sink
   (it is installed into its own venv, bench/.mailmerge-venv, on first use).

Target: outreach no slower than mailmerge, though each of its messages carries the letter's PDF.
Each figure is the best of --runs runs. `--crash N` also runs the crash loop: SIGKILL the send N times at random
moments, resume until done, and check that no Message-ID reached the sink twice and the log lost nothing.

    python bench/send.py [--work /dev/shm] [--home DIR] [--runs 3] [--crash 100] [--seed S]

The contact log lives in --home (default: a folder under bench/, on disk as a user's would be), because its
fsyncs are part of the cost; the outbox lives in --work (default /dev/shm when there is one).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import socket
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from crash import kill_mid_send
from fsyncs import count_fsyncs, fsync_cost
from mailmerge_venv import mailmerge_binary, write_template

from outreach.delivery.run import GROUP_COMMIT, LOG_ID_FILE
from outreach.ledger import DELIVERED_STATES, State

ROOT = Path(__file__).resolve().parents[1]
SENDER = "policy@ipem.example.org"
FEW = 40  # letters of the short send whose fsyncs are taken from a full send's, to count each further letter's


# -- the sink --------------------------------------------------------------------------------------------------


class _SinkHandler(socketserver.StreamRequestHandler):
    """Speak just enough SMTP to take messages: no pipelining, no auth; notes each Message-ID in the log."""

    server: _SinkServer

    def handle(self) -> None:
        # Each reply is its own write: without TCP_NODELAY, Nagle's algorithm holds the second of a pipelined
        # envelope's replies until the client's delayed ACK (40 ms). Postfix avoids this by writing the replies
        # together; a sink this small turns Nagle off.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._converse()
        except ConnectionError:
            pass  # a client killed mid-conversation (the crash loop does this on purpose)

    def _converse(self) -> None:
        write = self.wfile.write
        read = self.rfile.readline
        write(b"220 sink ESMTP\r\n")
        while True:
            line = read(65536)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                # PIPELINING as Postfix and most submission servers offer it; smtplib (mailmerge) does not use it.
                write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb == b"DATA":
                write(b"354 end with <CRLF>.<CRLF>\r\n")
                # Read in large chunks and look for the end marker, rather than line by line: the sink should cost
                # as little as it can, so that the figures measure the clients (a 40 kB message is ~550 lines).
                message = bytearray(b"\r\n")  # so that a message ending at once is still found
                while True:
                    chunk = self.rfile.read1(262144)
                    if not chunk:
                        return  # the client went away mid-message: nothing was delivered
                    searched_from = max(0, len(message) - 4)
                    message += chunk
                    end = message.find(b"\r\n.\r\n", searched_from)
                    if end >= 0:
                        break
                headers = bytes(message[: message.find(b"\r\n\r\n", 0, end + 2)]).lower()
                start = headers.find(b"\r\nmessage-id:")
                message_id = (
                    bytes(message[start + 13 : message.find(b"\r\n", start + 13)]).strip() if start >= 0 else b""
                )
                self.server.note(message_id)
                write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                write(b"221 bye\r\n")
                return
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                write(b"250 OK\r\n")
            else:
                write(b"502 not implemented\r\n")


class _SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, log: Path) -> None:
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self._log = log.open("ab", buffering=0)
        self._lock = threading.Lock()

    def note(self, message_id: bytes) -> None:
        with self._lock:
            self._log.write(message_id + b"\n")


def run_sink(log: Path) -> None:
    """Serve the sink until killed, printing its port first."""
    server = _SinkServer(log)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class Sink:
    """The sink server in its own process, and the Message-IDs it has taken."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "sink.log"
        self.log.write_bytes(b"")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.log)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def message_ids(self) -> list[str]:
        return self.log.read_text(encoding="ascii").splitlines()

    def clear(self) -> None:
        self.log.write_bytes(b"")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


# -- outreach and mailmerge ------------------------------------------------------------------------------------


def outreach_env(home: Path, port: int) -> dict[str, str]:
    """Return the environment of an `outreach` run against the sink, this checkout's code first on the path."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    # Bytecode caches on, as in any installed package (mailmerge's venv has them): the first run writes them.
    return {
        **environment,
        "PYTHONPATH": str(ROOT),
        "OUTREACH_HOME": str(home),
        "OUTREACH_SMTP_HOST": "127.0.0.1",
        "OUTREACH_SMTP_PORT": str(port),
        "OUTREACH_SMTP_SECURITY": "none",
    }


def forget_log(outbox: Path) -> None:
    """Forget which contact log the outbox was sent from: each run sends it afresh, from a new log (else `send`
    refuses a second log, as it should for a user)."""
    (outbox / LOG_ID_FILE).unlink(missing_ok=True)


def send_command(outbox: Path, campaign: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "outreach", "send", str(outbox), "--campaign", str(campaign)),
        *("--no-dry-run", "--yes", "--per-minute", "0"),
    ]


# The shipped campaign is unsigned by design and `send` refuses it: the bench signs a copy. These are the bench's
# own values (example.org, a number from Ofcom's drama range), never IPEM's.
SIGNED = {
    "email": SENDER,
    "reply_email": "public.affairs@ipem.example.org",
    "phone": "01632 960 123",
    "signatory_role": "Head of Policy",
}


def prepare(work: Path) -> tuple[Path, Path, int]:
    """Sign a copy of the campaign, draft every letter; return (campaign, outbox, letters with an e-mail address)."""
    campaign = work / "campaign"
    shutil.copytree(ROOT / "letters" / "ipem-2024", campaign)
    toml = campaign / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    for key, value in SIGNED.items():
        text = text.replace(f'\n{key} = ""', f'\n{key} = "{value}"', 1)
    text = text.replace('signatory_name = "Policy and Public Affairs Team"', 'signatory_name = "Alex Example"')
    toml.write_text(text, "utf-8")
    outbox = work / "outbox"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OUTREACH_HOME": str(work / "draft-home")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "outreach",
            "draft",
            "--all",
            "--allow-stale-posts",
            "--out",
            str(outbox),
            "--campaign",
            str(campaign),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with (outbox / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        emailed = sum(1 for row in csv.DictReader(handle) if row["email"])
    return campaign, outbox, emailed


def mailmerge_inputs(folder: Path, outbox: Path, port: int) -> list[str]:
    """Write mailmerge's template, database (the letters with an e-mail address) and config; return its command."""
    template = write_template(folder, SENDER)
    database = folder / "database.csv"
    columns = ["email", "subject", "salutation", "constituency", "local_sites", "nearest_centre", "nearest_centre_km"]
    with (
        (outbox / "manifest.csv").open(encoding="utf-8", newline="") as source,
        database.open("w", encoding="utf-8", newline="") as target,
    ):
        writer = csv.DictWriter(target, fieldnames=[*columns, "asks"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(row for row in csv.DictReader(source) if row["email"])
    config = folder / "server.conf"
    config.write_text(f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = Never\n", encoding="utf-8")
    return [
        str(mailmerge_binary()),
        *("--no-dry-run", "--no-limit", "--output-format", "raw"),
        *("--template", str(template), "--database", str(database), "--config", str(config)),
    ]


def timed(command: list[str], env: dict[str, str]) -> float:
    """Return the wall time of one run of a command, which must succeed."""
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


# -- the crash loop --------------------------------------------------------------------------------------------


def _settled(home: Path) -> int:
    """Return how many e-mail letters the contact log has sent or uncertain (0 before the first run)."""
    if not (home / "outreach.db").exists():
        return 0
    database = sqlite3.connect(f"file:{home / 'outreach.db'}?mode=ro", uri=True)
    try:
        query = "SELECT COUNT(*) FROM contacts WHERE channel = 'email' AND state IN (?, ?)"
        return int(database.execute(query, DELIVERED_STATES).fetchone()[0])
    finally:
        database.close()


def crash_round(
    outbox: Path, campaign: Path, home: Path, sink: Sink, chance: random.Random, kills_left: int
) -> tuple[int, str]:
    """Return (kills, a line of findings) from sending the outbox with a fresh contact log, killed at random.

    Kills until `kills_left` kills or no letter is left, then lets a last run finish, and checks: no Message-ID
    arrived twice, one log row per letter, every letter sent or uncertain, no more uncertain than GROUP_COMMIT a
    kill, and every letter logged sent did arrive.
    """
    sink.clear()
    forget_log(outbox)
    env = outreach_env(home, sink.port)
    env["PYTHONUNBUFFERED"] = "1"
    with (outbox / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        letters = sorted(row["letter_id"] for row in csv.DictReader(handle) if row["email"])
    kills = runs = 0
    while True:
        runs += 1
        process = subprocess.Popen(
            send_command(outbox, campaign), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert process.stderr is not None
        if kills >= kills_left or _settled(home) == len(letters):
            _, errors = process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"the final run failed:\n{errors.decode()}")
            break
        # Kill within two milliseconds of a letter going through (a letter takes about 1.5).
        kills += kill_mid_send(process, chance, window=0.002)
    ids = sink.message_ids()
    duplicates = len(ids) - len(set(ids))
    database = sqlite3.connect(home / "outreach.db")
    rows = database.execute("SELECT letter_id, state, message_id FROM contacts WHERE channel = 'email'").fetchall()
    database.close()
    states = [state for _, state, _ in rows]
    uncertain = states.count(State.UNCERTAIN)
    arrived = set(ids)
    sent_missing = [letter for letter, state, message_id in rows if state == State.SENT and message_id not in arrived]
    problems = []
    if duplicates:
        problems.append(f"{duplicates} Message-IDs arrived twice")
    if sorted(letter for letter, _, _ in rows) != letters:
        problems.append("the log does not have exactly one row per letter")
    if set(states) - set(DELIVERED_STATES):
        problems.append(f"letters left in {sorted(set(states) - set(DELIVERED_STATES))}")
    if uncertain > kills * GROUP_COMMIT:  # a kill leaves at most one group's `sending` letters uncertain
        problems.append(f"{uncertain} uncertain > {kills} kills x {GROUP_COMMIT} (GROUP_COMMIT)")
    if sent_missing:
        problems.append(f"{len(sent_missing)} letters logged sent never arrived")
    verdict = "OK" if not problems else "FAILED: " + "; ".join(problems)
    return kills, (
        f"{runs} runs, {kills} SIGKILLs, {len(letters)} letters, {len(arrived)} arrived, {duplicates} duplicates, "
        f"{uncertain} uncertain, {len(rows)} log rows: {verdict}"
    )


def crash_loop(outbox: Path, campaign: Path, homes: Path, sink: Sink, kills_wanted: int, seed: int) -> list[str]:
    """Return one line per round of crash_round, fresh log each round, until `kills_wanted` kills in all."""
    chance = random.Random(seed)
    lines: list[str] = []
    kills = 0
    while kills < kills_wanted:
        killed, line = crash_round(outbox, campaign, homes / f"crash-{len(lines)}", sink, chance, kills_wanted - kills)
        kills += killed
        lines.append(f"crash loop (seed {seed}), round {len(lines) + 1}: {line}")
    return lines


def group_commit_lines(outbox: Path, command: list[str], homes: Path, port: int, letters: int) -> list[str]:
    """Return the lines saying how many fsyncs a send makes per letter: the whole run's, and each further letter's
    (a full send against one of FEW letters, so the log's opening, the run's queueing and checkpoints cancel out)."""
    target = f"target <= 1/{GROUP_COMMIT} = {1 / GROUP_COMMIT:.3f}"
    forget_log(outbox)
    full = count_fsyncs(command, outreach_env(homes / "traced-all", port))
    forget_log(outbox)
    few = count_fsyncs([*command, "--limit", str(FEW)], outreach_env(homes / "traced-few", port))
    if full is None or few is None:
        return [f"fsyncs per letter: not counted (strace missing or refused); {target}"]
    return [
        f"fsyncs per letter (strace -c), whole run: {full / letters:6.3f}  ({full} for {letters} letters)",
        f"  each letter beyond the first {FEW}:       {(full - few) / (letters - FEW):6.3f}  ({target}: group commit)",
    ]


def filesystem(path: Path) -> str:
    """Return the file system type a path lives on (from /proc/mounts), or '?'."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    resolved = str(path.resolve())
    best = max(
        (m for m in mounts if resolved.startswith(m[1].rstrip("/") + "/") or resolved == m[1]),
        key=lambda m: len(m[1]),
        default=None,
    )
    return best[2] if best else "?"


def main() -> None:
    """Run the sending benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shm = Path("/dev/shm")
    parser.add_argument("--work", type=Path, default=shm if shm.is_dir() else Path(tempfile.gettempdir()))
    parser.add_argument("--home", type=Path, default=ROOT / "bench", help="where the contact logs go (default bench/)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--crash", type=int, default=0, help="also run the crash loop with this many SIGKILLs")
    parser.add_argument("--seed", type=int, default=None, help="the crash loop's seed (default: random, printed)")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="outreach-send-bench-", dir=arguments.work))
    arguments.home.mkdir(parents=True, exist_ok=True)
    homes = Path(tempfile.mkdtemp(prefix=".send-homes-", dir=arguments.home))
    sink: Sink | None = None
    try:
        campaign, outbox, letters = prepare(work)
        sink = Sink(work)

        def send_all(home: Path) -> float:
            sink.clear()
            forget_log(outbox)
            seconds = timed(send_command(outbox, campaign), outreach_env(home, sink.port))
            arrived = len(sink.message_ids())
            if arrived != letters:
                raise SystemExit(f"outreach send delivered {arrived} of {letters} letters")
            return seconds

        ours = [send_all(homes / f"run-{run}") for run in range(arguments.runs)]
        # The same with the contact log on the work folder (tmpfs: fsync is free), to show the log's share.
        fsync_free = [send_all(work / f"home-{run}") for run in range(arguments.runs)]
        command = mailmerge_inputs(work, outbox, sink.port)
        theirs = []
        for _ in range(arguments.runs):
            sink.clear()
            theirs.append(timed(command, dict(os.environ)))
            arrived = len(sink.message_ids())
            if arrived != letters:
                raise SystemExit(f"mailmerge delivered {arrived} of {letters} messages")
        pdfs = list((outbox / "letters").glob("*.pdf"))
        average_pdf = sum(path.stat().st_size for path in pdfs) / max(len(pdfs), 1) / 1024
        drafted = sum(1 for _ in (outbox / "manifest.csv").open(encoding="utf-8")) - 1
        runs_ours = ", ".join(f"{seconds:.2f}" for seconds in ours)
        runs_theirs = ", ".join(f"{seconds:.2f}" for seconds in theirs)
        print(f"letters e-mailed:                        {letters} (of {drafted} drafted)")
        print(f"outbox in {work} ({filesystem(work)}); contact log in {homes} ({filesystem(homes)})")
        ours_line = f"outreach send --per-minute 0 (PDF each): {min(ours):6.2f} s   (runs: {runs_ours}"
        print(f"{ours_line}; PDFs average {average_pdf:.0f} kB)")
        print(f"mailmerge 2.3, same count, plain text:   {min(theirs):6.2f} s   (runs: {runs_theirs})")
        print(f"  ratio to mailmerge:                    {min(ours) / min(theirs):6.2f}x  (target <= 1.0x)")
        print(
            f"outreach send, contact log in {filesystem(work)}:     {min(fsync_free):6.2f} s   "
            f"(runs: {', '.join(f'{seconds:.2f}' for seconds in fsync_free)}; the log's fsyncs cost the difference)"
        )
        # The contact log's durability (issue 14 item 5, group commit) is reported here: fsyncs per letter and the
        # cost of one fsync on this machine, printed beside the times above.
        print("\n".join(group_commit_lines(outbox, send_command(outbox, campaign), homes, sink.port, letters)))
        print(f"  one fsync in {homes} ({filesystem(homes)}): {fsync_cost(homes) * 1000:.3f} ms (median of 200)")
        if arguments.crash:
            seed = arguments.seed if arguments.seed is not None else random.randrange(1 << 30)
            for line in crash_loop(outbox, campaign, homes, sink, arguments.crash, seed):
                print(line, flush=True)
    finally:
        if sink is not None:
            sink.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(homes, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sink"]:
        run_sink(Path(sys.argv[2]))
    else:
        main()
