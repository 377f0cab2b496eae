"""The progress bar: drawn on a terminal for long runs, silent everywhere else."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from sdmtool import progress
from sdmtool.progress import Progress, wanted

REPO = Path(__file__).resolve().parents[1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wanted_only_on_a_terminal() -> None:
    assert wanted(_Terminal(), environ={"TERM": "xterm"})
    assert not wanted(io.StringIO(), environ={"TERM": "xterm"})


@pytest.mark.parametrize("environ", [{"TERM": "dumb"}, {"TERM": "xterm", "SDMTOOL_NO_PROGRESS": "1"}])
def test_wanted_can_be_turned_off(environ: dict[str, str]) -> None:
    assert not wanted(_Terminal(), environ=environ)


def test_bar_counts_entities_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    terminal = _Terminal()
    with Progress(enabled=True, stream=terminal) as bar:
        bar.describe("dump.ndjson")
        assert list(bar.wrap(iter(range(1000)))) == list(range(1000))
        bar._bar.refresh()  # type: ignore[union-attr]
        drawn = terminal.getvalue()
    # 1000 items in batches of 256: the bar has seen the 768 of the full batches, named the file and the unit.
    assert "768" in drawn
    assert "entities" in drawn
    assert "dump.ndjson" in drawn


def test_disabled_bar_writes_nothing() -> None:
    terminal = _Terminal()
    with Progress(enabled=False, stream=terminal) as bar:
        assert list(bar.wrap(iter(range(600)))) == list(range(600))
    assert terminal.getvalue() == ""


def test_cli_off_a_terminal_keeps_stderr_empty(tmp_path: Path) -> None:
    example = json.loads((REPO / "schemas/MLModel/examples/example.json").read_text())
    dump = tmp_path / "dump.ndjson"
    dump.write_text("\n".join(json.dumps(example) for _ in range(300)) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "sdmtool.cli", "validate", str(dump)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout
    assert run.stderr == ""
    assert "300 entities (300 keyValues) in 1 input" in run.stdout


_DRIVER = """
import sys
from sdmtool import progress
from sdmtool.cli import main
progress.DELAY_SECONDS = progress.REFRESH_SECONDS = 0.0  # draw at once and at every update: a short run
sys.argv = ["sdmtool", "validate", sys.argv[1]]
main()
"""


def _run_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Runs a command with stdout and stderr on a pseudo-terminal of no size (as on CI runners)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        args, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True, env=env, cwd=cwd
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal is gone: the process has ended
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=60), output.decode()


def test_cli_on_a_terminal_draws_the_bar_then_clears_it(tmp_path: Path) -> None:
    example = json.loads((REPO / "schemas/MLModel/examples/example.json").read_text())
    dump = tmp_path / "dump.ndjson"
    dump.write_text("\n".join(json.dumps(example) for _ in range(600)) + "\n")
    env = {**os.environ, "TERM": "xterm", "PYTHONPATH": str(REPO)}
    env.pop("SDMTOOL_NO_PROGRESS", None)
    status, output = _run_on_a_terminal([sys.executable, "-c", _DRIVER, dump.name], env, tmp_path)
    assert status == 0, output
    bar, _, report = output.removesuffix("\r\n").rpartition("\r")
    assert "entities [" in bar  # "512 entities [00:00, ...entities/s, .../dump.ndjson]"
    assert "dump.ndjson" in bar
    assert report == "600 entities (600 keyValues) in 1 input: all valid"
