"""Side outputs published in one step: a folder (the STAC catalog) is built beside its
predecessor and swapped in by renaming a symlink, so that a reader sees the old one or the new
one, never a half-written or missing one. `commit_point` marks where a writer may die, for the
fault-injection tests (`JNFT_KILL_AT=<name>` kills the process there)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path


def commit_point(name: str) -> None:
    """Die here when the fault-injection hook names this point (never set in production)."""
    if os.environ.get("JNFT_KILL_AT") == name:
        os._exit(137)


def staging_folder(target: Path) -> Path:
    """A new, empty folder beside `target` for its next version; leftovers of writers that
    died before their swap are removed."""
    current = target.resolve() if target.is_symlink() else None
    for old in target.parent.glob(f"{target.name}-*"):
        if old.is_dir() and old != current:
            shutil.rmtree(old)
    folder = target.with_name(f"{target.name}-{time.time_ns()}")
    folder.mkdir(parents=True)
    return folder


def swap_in(folder: Path, target: Path) -> None:
    """Point `target` at `folder` in one rename, then remove what it pointed at before."""
    previous = target.resolve() if target.is_symlink() else None
    if target.is_dir() and not target.is_symlink():
        # A plain folder from before swaps existed: moved aside once (then removed).
        previous = target.with_name(f"{target.name}-{time.time_ns()}-legacy")
        target.rename(previous)
    link = target.with_name(f"{target.name}.link")
    link.unlink(missing_ok=True)
    link.symlink_to(folder.name)
    os.replace(link, target)  # the one step readers can see
    commit_point(f"{target.name}.swapped")
    if previous is not None and previous != folder.resolve():
        shutil.rmtree(previous, ignore_errors=True)
