"""Export files built once per data version and then served from disk.

A download of the whole ledger (up to a million rows) used to be built in memory on every
request. Now the first request for an export at a data version writes it to a file (XLSX
with openpyxl's write-only workbook, CSV line by line), atomically renamed into place;
every later request for that version is a file send (streamed by Werkzeug, with ETag and
Range), and the files of older versions are removed. One thread per process builds a given
file; the others wait for it rather than build it again. The version is read before the rows,
so a file that happens to include a newer change is stored under the older version and is
rebuilt on the next request: no file is served after a change it does not show.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


_trusted: set[Path] = set()  # folders this process has emptied once (see export_dir)


def export_dir(app: Flask) -> Path:
    """One folder per database. Files left by an earlier process are removed on first use: a
    database recreated or restored from a backup counts its versions again from a lower
    value, and must never be answered with another database's file."""
    configured = app.config.get("EXPORT_CACHE_DIR")
    base = Path(configured) if configured else app.config["SHANLIAN"].upload_dir.parent / "exports"
    url = app.config["SHANLIAN"].database_url
    folder = base / hashlib.sha256(url.encode()).hexdigest()[:16]
    with _locks_guard:
        if folder not in _trusted:
            shutil.rmtree(folder, ignore_errors=True)
            _trusted.add(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def export_file(what: str, fmt: str, version: int, write: Callable[[Path], None],
                language: str = "") -> Path:
    """The file of export `what`.`fmt` at `version` (and `language`, since the column
    headers follow it), built by `write(path)` if missing."""
    folder = export_dir(current_app)
    tail = f".{language}.{fmt}" if language else f".{fmt}"
    path = folder / f"{what}-v{version}{tail}"
    if path.exists():
        return path
    with _lock_for(f"{what}{tail}"):
        if path.exists():  # another thread built it while we waited
            return path
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{what}-", suffix=f".{fmt}")
        os.close(fd)
        try:
            write(Path(temporary))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for older in folder.glob(f"{what}-v*{tail}"):
            if older != path:
                older.unlink(missing_ok=True)
    return path
