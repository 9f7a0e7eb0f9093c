"""File I/O for user files: writes that never leave half-written outputs (temporary file, then
rename), output paths checked before any work starts, and JSON reads whose failures are one line
naming the file and the problem."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from typing import Any

from pymargin.errors import UserError
from pymargin.interrupts import register_temporary


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode())


def read_json(path: Path, what: str, error: type[Exception] = UserError) -> Any:
    """The parsed JSON file at ``path``; a missing, unreadable or malformed file raises ``error`` with
    one line naming ``what`` (e.g. "deploy config"), the path and, for bad JSON, the line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # a JSON number of more than 4300 digits (Python's int conversion limit)
        raise error(f"{path}: unreadable JSON: {str(exc).split(';')[0]}") from None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe_writable(folder: Path, option: str, path: Path) -> None:
    """UserError unless a file can be created (and removed) in ``folder``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".pymargin-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot write in {folder}: {exc.strerror or exc}") from None


def check_out_dir(path: Path, *, force: bool = False, option: str = "--out", existing_ok: bool = False) -> Path:
    """Check an output folder before any work starts; return it as an absolute path.

    Refused with one line: a file (or a path below a file); a folder that cannot be written in; a
    non-empty folder unless ``force`` (or ``existing_ok``, for folders of records that accumulate,
    such as deployments/). Creates nothing.
    """
    path = Path(path).expanduser().absolute()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{option} {path} is a file, not a folder: choose a folder")
        if not (force or existing_ok) and any(path.iterdir()):
            raise UserError(
                f"{option} {path} is not empty: choose a new or empty folder, or pass --force to write "
                "into it (files of the same names are replaced; nothing else is touched)"
            )
        _probe_writable(path, option, path)
        return path
    ancestor = _nearest_existing(path.parent)
    if not ancestor.is_dir():
        raise UserError(f"{option} {path}: {ancestor} is a file, not a folder")
    _probe_writable(ancestor, option, path)
    return path


def check_out_file(path: Path, *, force: bool = False, option: str = "--out") -> Path:
    """Check an output file before any work starts; return it as an absolute path.

    Refused with one line: a folder; an existing file unless ``force``; a path whose folder cannot
    be written in (or is below a file). Creates nothing.
    """
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise UserError(f"{option} {path} is a folder, not a file: name a file")
    if path.exists() and not force:
        raise UserError(f"{option} {path} exists: choose a new file name, or pass --force to replace it")
    ancestor = _nearest_existing(path.parent)
    if not ancestor.is_dir():
        raise UserError(f"{option} {path}: {ancestor} is a file, not a folder")
    _probe_writable(ancestor, option, path)
    return path


def staging_dir(out_dir: Path) -> Path:
    """A new empty folder for the outputs meant for ``out_dir`` (checked by :func:`check_out_dir`):
    inside it if it exists, else next to it. :func:`publish_dir` moves the outputs into place."""
    out_dir = Path(out_dir)
    if out_dir.is_dir():
        return register_temporary(Path(tempfile.mkdtemp(prefix=".pymargin-staging-", dir=out_dir)))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return register_temporary(Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent)))


def publish_dir(work: Path, out_dir: Path) -> None:
    """Move everything in ``work`` into ``out_dir``: a rename if ``out_dir`` does not exist, else entry
    by entry (a file of the same name is replaced; nothing else in ``out_dir`` is touched)."""
    work, out_dir = Path(work), Path(out_dir)
    if not out_dir.exists():
        os.rename(work, out_dir)
        return
    _merge(work, out_dir)


def _merge(src: Path, dst: Path) -> None:
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if entry.is_dir() and target.is_dir() and not target.is_symlink():
            _merge(entry, target)
        elif target.is_dir() and not target.is_symlink():
            raise UserError(f"cannot replace the folder {target} with a file: move it away and run again")
        else:
            os.replace(entry, target)


@contextmanager
def staged_out_dir(path: Path, *, force: bool = False, option: str = "--out") -> Iterator[Path]:
    """Check ``path`` (:func:`check_out_dir`), yield a staging folder for the outputs and, when the
    block ends without an error, publish them into ``path``; the staging folder never stays behind."""
    out_dir = check_out_dir(path, force=force, option=option)
    work = staging_dir(out_dir)
    try:
        yield work
        publish_dir(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
