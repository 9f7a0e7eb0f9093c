"""Progress reporting: silent by default; on a non-terminal only status lines, never stray output."""

from __future__ import annotations

from pymargin.progress import SILENT, ConsoleProgress


def test_silent_progress_passes_items_through(capsys):
    assert list(SILENT.track(range(3), "x")) == [0, 1, 2]
    with SILENT.status("working"):
        pass
    SILENT.info("hidden")
    assert capsys.readouterr() == ("", "")


def test_console_progress_off_a_terminal_prints_only_status_lines(capsys):
    progress = ConsoleProgress()
    assert list(progress.track(iter([1, 2]), "items", total=2)) == [1, 2]
    with progress.status("proving"):
        pass
    progress.info("done: 2 items")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "done: 2 items\n"
