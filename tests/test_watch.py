"""`specc check --watch`: a report now, another after each change, Ctrl-C exits 0 quietly."""

from __future__ import annotations

import io
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from specc.cli import main

GOOD = "input 8x8x1\nconv 4 3x3 relu\nfc 10 softmax\n"
TIMEOUT = 60  # seconds to wait for a report on a busy machine; a hang fails instead of blocking the suite


def reports(stream) -> queue.Queue:
    """Complete reports (up to each verdict line) from a process's stdout, as they arrive."""
    found: queue.Queue = queue.Queue()

    def read() -> None:
        lines: list[str] = []
        for line in stream:
            lines.append(line)
            if ": ok (" in line or ": failed (" in line:
                found.put("".join(lines))
                lines = []

    threading.Thread(target=read, daemon=True).start()
    return found


def test_a_change_redraws_the_report_and_ctrl_c_exits_quietly(tmp_path: Path) -> None:
    spec = tmp_path / "net.cnn"
    spec.write_text(GOOD)
    process = subprocess.Popen([sys.executable, "-m", "specc", "check", "--watch", str(spec)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        arrived = reports(process.stdout)
        first = arrived.get(timeout=TIMEOUT)
        assert "conv1" in first and "net.cnn: ok (0 errors, 0 warnings)" in first
        assert "\x1b[" not in first  # not a terminal: no screen clearing, no colour
        spec.write_text(GOOD.replace("conv 4", "covn 4"))
        second = arrived.get(timeout=TIMEOUT)
        assert "error[E101]: unknown statement `covn`" in second and "net.cnn: failed (1 error" in second
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0
    assert "Traceback" not in err and "interrupted" not in err and "watching" in err


def test_a_new_spec_in_a_watched_folder_is_checked(tmp_path: Path) -> None:
    from specc.cli.watch import watch

    (tmp_path / "a.cnn").write_text(GOOD)
    seen: list[list[str]] = []

    def listing() -> list[str]:  # what the check command lists: the folder's specs
        return sorted(str(p) for p in tmp_path.glob("*.cnn"))

    def check() -> str:
        seen.append(listing())
        if len(seen) == 1:
            (tmp_path / "b.cnn").write_text(GOOD)
            return "one"
        raise KeyboardInterrupt

    assert watch([str(tmp_path)], check, listing, out=io.StringIO(), poll=0.01) == 0
    assert [len(files) for files in seen] == [1, 2]


@pytest.mark.parametrize(("paths", "words"), [(["-"], "cannot watch - (stdin)"), (["missing.cnn"], "no such file")])
def test_what_cannot_be_watched_is_refused_at_once(tmp_path: Path, monkeypatch, capsys, paths, words) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--watch", *paths]) == 2
    assert words in capsys.readouterr().err


def test_a_vanished_file_is_reported_and_watched_until_it_returns(tmp_path: Path) -> None:
    from specc.cli.watch import watch
    from specc.errors import SpeccError

    spec, calls = tmp_path / "net.cnn", []
    spec.write_text(GOOD)

    def check() -> str:
        calls.append(len(calls))
        if len(calls) == 1:
            spec.unlink()
            return "first report"
        if len(calls) == 2:
            spec.write_text(GOOD)
            raise SpeccError(f"cannot read '{spec}': No such file or directory", 2)
        raise KeyboardInterrupt  # Ctrl-C during the third check

    out = io.StringIO()
    assert watch([str(spec)], check, out=out, poll=0.01) == 0
    assert out.getvalue() == f"first report\nspecc: error: cannot read '{spec}': No such file or directory\n"


def test_a_bug_in_a_check_is_reported_and_the_watch_goes_on(tmp_path: Path, monkeypatch, capsys) -> None:
    from specc.cli.commands import check as command

    spec, calls = tmp_path / "net.cnn", []
    spec.write_text(GOOD)
    real = command.report

    def report(args, unreadable=None):  # as `upsample 2 repeat=1000` crashed the checker (audit N2)
        calls.append(spec.read_text())
        if len(calls) == 1:
            spec.write_text(GOOD + "# crash\n")
            return real(args, unreadable)
        if len(calls) == 2:
            spec.write_text(GOOD + "# fixed again\n")
            raise OverflowError("int too large to convert to float")
        if len(calls) == 3:
            spec.write_text(GOOD)
            return real(args, unreadable)
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "report", report)
    assert main(["check", "--watch", str(spec)]) == 0
    out = capsys.readouterr().out
    assert len(calls) == 4  # every change after the crash was checked
    crash = "specc: internal error: OverflowError: int too large to convert to float (at test_watch.py:"
    assert crash in out and "please report it with the spec. Still watching." in out
    assert out.count("net.cnn: ok (0 errors, 0 warnings)") == 2 and "Traceback" not in out
