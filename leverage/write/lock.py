"""One writer per Leverage project: a lock file in the project's root, held with flock(2).

The kernel drops a flock when its process ends, however it ends: a lock file left by a dead process is free
and the next run takes it over. The file records who holds it, so a refused run can name the holder.
"""
from __future__ import annotations

import errno
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from leverage.errors import UserError
from leverage.write import state

LOCK_NAME = f"{state.STATE_FOLDER}/lock"  # where version control ignores it (state.py)
CHECK_WAIT_SECONDS = 60.0  # how long `check` waits for a running synth to finish
POLL_SECONDS = 0.1


def lock_path(root: Path) -> Path:
    return root / LOCK_NAME


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Held by `synth` while it reads and writes the tree; a second writer is refused at once, naming this one."""
    path = lock_path(root)
    while True:
        try:
            state.ensure(root)
            # Never through a link: the lock file is truncated and removed, and only ours may be.
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            continue  # the previous holder removed the folder in between
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UserError(f"the lock file {path} is a symbolic link: synth never writes through a link",
                                fix="remove the link; nothing was written") from None
            raise UserError(f"cannot create the lock file {path}: {exc.strerror}",
                            fix="check the project folder's permissions; nothing was written") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(descriptor) or "a process that has not recorded itself yet"
            os.close(descriptor)
            raise UserError(
                f"another synth is writing layers in {root.name} right now ({holder}; lock {path})",
                fix="wait for it to finish and run synth again; nothing was written") from None
        if _same_file(descriptor, path):  # not a file its previous holder removed after we opened it
            break
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # while still held: nobody can be between taking it and removing it
        os.close(descriptor)
        state.tidy(root)


@contextmanager
def shared(root: Path, wait_seconds: float | None = None) -> Iterator[None]:
    """Held by `check` while it reads: it waits (bounded) for a running synth. Creates nothing, so a
    read-only checkout works."""
    wait_seconds = CHECK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    state.refuse_unless_folder(root)  # what synth would refuse, before reading anything through it
    path = lock_path(root)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield  # no synth has it
        return
    except OSError as exc:
        raise UserError(f"cannot read the lock file {path}: {exc.strerror}", fix="check its permissions") from None
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read(descriptor) or "unknown"
                    raise UserError(
                        f"a synth has been writing layers in {root.name} for more than {wait_seconds:g} s ({holder})",
                        fix="run check again when it has finished") from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)


def _read(descriptor: int) -> str:
    os.lseek(descriptor, 0, os.SEEK_SET)
    return os.read(descriptor, 512).decode("utf-8", errors="replace").strip()


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)
