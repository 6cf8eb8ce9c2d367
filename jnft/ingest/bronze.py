"""The bronze manifest of a source: which files were landed, with their sha256 and vintage."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from jnft.lakehouse.store import Lakehouse


@dataclass(frozen=True)
class BronzeEntry:
    sha256: str
    original_name: str
    relative_path: str  # under the sources folder, as delivered
    bronze_path: str
    vintage: str  # ISO date
    size: int
    landed_at: str


def parse_vintage(relative_path: str, pattern: str) -> dt.date:
    """The vintage (edition date) of a delivered file, from its path."""
    match = re.search(pattern, relative_path)
    if not match:
        raise ValueError(f"{relative_path}: no vintage date matches {pattern!r}")
    text = match.group(1)
    try:
        return (
            dt.date(int(text), 1, 1)
            if re.fullmatch(r"\d{4}", text)
            else dt.date.fromisoformat(text)
        )
    except ValueError as error:
        raise ValueError(f"{relative_path}: {text!r} is not a date: {error}") from error


def _manifest_path(store: Lakehouse, source: str) -> Path:
    return store.bronze_dir(source) / "manifest.json"


def read_manifest(
    store: Lakehouse, source: str, patterns: Sequence[str] | None = None
) -> list[BronzeEntry]:
    """The landed files of a source — those matching one of `patterns` when given (a source
    delivers several layers: BD TOPO's shapefiles are one file per layer), which are then
    readable here (fetched from the bucket of a remote lakehouse, with their sidecars)."""
    path = _manifest_path(store, source)
    try:
        text = store.fetch(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    folder = store.bronze_dir(source)
    # Addressed in this lakehouse's folder: the manifest may come from another machine's.
    entries = [
        replace(entry, bronze_path=str(folder / Path(entry.bronze_path).name))
        for entry in (BronzeEntry(**e) for e in json.loads(text))
    ]
    if patterns is None:
        return entries
    chosen = [e for e in entries if any(fnmatch.fnmatch(e.relative_path, p) for p in patterns)]
    if store.remote:
        for entry in chosen:
            for file in store.listing(folder, f"{entry.sha256}.*"):
                store.fetch(file)
    return chosen


def land_files(
    store: Lakehouse, source: str, sources_dir: Path, pattern: str, vintage_pattern: str
) -> tuple[list[BronzeEntry], list[BronzeEntry]]:
    """Land every file matching `pattern`; returns (all entries, newly landed entries)."""
    sources_dir = Path(sources_dir)
    files = sorted(p for p in sources_dir.glob(pattern) if p.is_file())
    if not files:
        raise FileNotFoundError(f"no file matches {pattern!r} under {sources_dir}")
    entries = {e.sha256: e for e in read_manifest(store, source)}
    new = []
    for path in files:
        relative = path.relative_to(sources_dir).as_posix()
        vintage = parse_vintage(relative, vintage_pattern)
        landed = store.land(source, path)
        if landed.sha256 in entries:
            continue
        entry = BronzeEntry(
            landed.sha256,
            path.name,
            relative,
            str(landed.path),
            vintage.isoformat(),
            path.stat().st_size,
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        entries[entry.sha256] = entry
        new.append(entry)
    ordered = sorted(entries.values(), key=lambda e: (e.vintage, e.relative_path))
    manifest = _manifest_path(store, source)
    partial = manifest.with_name(manifest.name + ".partial")
    partial.write_text(
        json.dumps([asdict(e) for e in ordered], indent=1, ensure_ascii=False), encoding="utf-8"
    )
    partial.replace(manifest)
    store.publish(manifest)
    return ordered, new
