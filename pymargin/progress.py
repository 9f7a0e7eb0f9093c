"""Progress reporting for long work: status lines, progress bars and spinners on stderr.

Library functions take a :class:`Progress` and call ``info``/``track``/``status``; the default
:data:`SILENT` prints nothing, the CLI passes a :class:`ConsoleProgress` (hidden by ``-q`` and
``--json``). Bars are transient: they vanish when done and leave only the status lines.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


class Progress:
    """Reports nothing: the default for library calls."""

    def info(self, message: str) -> None:
        """A status line."""

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate ``items`` while showing a progress bar."""
        yield from items

    @contextlib.contextmanager
    def status(self, description: str) -> Iterator[None]:
        """Show a spinner with elapsed time while the block runs."""
        yield


SILENT = Progress()


class ConsoleProgress(Progress):
    """Status lines on stderr; bars and spinners too when stderr is a terminal (rich)."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    def info(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        if not self.console.is_terminal:  # logs and pipes get the status lines only
            yield from items
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Bar(*columns, console=self.console, transient=True) as bar:
            yield from bar.track(items, total=total, description=description)

    @contextlib.contextmanager
    def status(self, description: str) -> Iterator[None]:
        if not self.console.is_terminal:
            yield
            return
        from rich.progress import Progress as Bar, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=self.console, transient=True) as bar:
            bar.add_task(description, total=None)
            yield
