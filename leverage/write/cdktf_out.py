"""cdktf's own output folder (CDKTF_OUTDIR, else `cdktf.out` in the app), which `synth` replaces.

The app replaces a folder only when it is recognisably cdktf's output: absent, empty, or holding nothing but
what a synth writes there. Never an empty setting, the app's root or a folder above it, the Leverage project, or
a folder inside or above the project.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from leverage.errors import UserError

SYNTH_WRITES = frozenset({"manifest.json", "stacks"})  # what `app.synth()` writes in its outdir


def output_folder(environ: dict[str, str] | os._Environ[str], app_root: Path, project_root: Path) -> Path:
    """The folder to replace, checked before anything is written."""
    setting = environ.get("CDKTF_OUTDIR")
    if setting is not None and not setting.strip():
        raise UserError("CDKTF_OUTDIR is set but empty (it would mean the current folder)",
                        fix="unset it (cdktf.out in the app is used) or name cdktf's output folder; nothing was written")
    folder = Path(setting).resolve() if setting is not None else (app_root / "cdktf.out").resolve()
    shown = f"CDKTF_OUTDIR={setting}" if setting is not None else str(folder)
    fix = "point CDKTF_OUTDIR at a folder of its own (e.g. <app>/cdktf.out) or unset it; nothing was written"
    app_root, project_root = app_root.resolve(), project_root.resolve()
    if folder == app_root or folder in app_root.parents:
        raise UserError(f"{shown} is the app's folder or one above it, which synth would replace", fix=fix)
    if folder == project_root or folder in project_root.parents or project_root in folder.parents:
        raise UserError(f"{shown} is the Leverage project {project_root}, inside it or above it", fix=fix)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UserError(f"{shown} is not a folder", fix=fix)
    if folder.exists() and not is_cdktf_output(folder):
        raise UserError(f"{shown} holds files a synth does not write there, so it is not cdktf's output folder",
                        fix=fix)
    return folder


def is_cdktf_output(folder: Path) -> bool:
    entries = {entry.name: entry for entry in folder.iterdir()}
    if not set(entries) <= SYNTH_WRITES:
        return False
    stacks = entries.get("stacks")
    if stacks is None:
        return True
    return stacks.is_dir() and not stacks.is_symlink() and all(
        entry.is_dir() and not entry.is_symlink() for entry in stacks.iterdir())


@dataclass
class Swap:
    """Stage the new output beside the old, swap them, and undo the swap until `commit`."""

    folder: Path
    staged: Path | None = None
    previous: Path | None = None
    placed: bool = False  # the new output stands at `folder`

    def stage(self, source: Path) -> None:
        # The run's own names (pid and a random token): a killed run's leftovers, or another project synthesized
        # from this checkout at the same time, never stand in the way; the leftovers of runs whose process is
        # gone are removed.
        remove_leftovers(self.folder)
        run = f"{os.getpid()}-{secrets.token_hex(4)}"
        staged, previous = (self.folder.with_name(f".{self.folder.name}.{run}.{kind}") for kind in ("new", "old"))
        try:
            shutil.copytree(source, staged)
            self.staged = staged
            if self.folder.exists():
                self.folder.rename(previous)
                self.previous = previous
            self.staged.rename(self.folder)
            self.staged, self.placed = None, True
        except OSError as exc:
            self.undo()
            raise UserError(f"cannot write cdktf's output folder {self.folder}: {exc.strerror}",
                            fix="set CDKTF_OUTDIR to a writable folder; nothing was written") from None

    def undo(self) -> None:
        if self.staged is not None:
            shutil.rmtree(self.staged, ignore_errors=True)
        if self.placed:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.previous is not None:
            self.previous.rename(self.folder)
        self.staged, self.previous, self.placed = None, None, False

    def commit(self) -> None:
        if self.previous is not None:
            shutil.rmtree(self.previous, ignore_errors=True)
        self.previous, self.placed = None, False


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove what killed runs left beside `folder` (`.<name>.<pid>-<token>.new` and `.old`): only those whose
    process no longer runs, so that a run in progress (another project, the same checkout) keeps its own."""
    pattern = re.compile(rf"\.{re.escape(folder.name)}\.(?P<pid>[0-9]+)-[0-9a-f]{{8}}\.(new|old)")
    removed = []
    for path in sorted(folder.parent.glob(f".{folder.name}.*")) if folder.parent.is_dir() else ():
        found = pattern.fullmatch(path.name)
        if found and path.is_dir() and not path.is_symlink() and not _running(int(found["pid"])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as someone else
        return True
    return True
