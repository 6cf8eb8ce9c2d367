"""The inbox: a folder where deliveries are dropped, laid out like the sources folder
(`<source folder>/<edition>/<file>`). A settled file that a fiche's source pattern matches is
moved into the sources folder, with its sidecars, and routed to the concepts and tiles it
touches (read from its header)."""

from __future__ import annotations

import fnmatch
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from jnft.formats.footprint import file_footprint
from jnft.lakehouse.store import sha256_of
from jnft.quality.fiche import Fiche
from jnft.tiles import tiles_covering

SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


@dataclass(frozen=True)
class Delivery:
    relative_path: str
    sha256: str
    fiches: tuple[Fiche, ...]
    tiles: tuple[str, ...] | None  # None: the header could not tell, or nothing is tiled

    @property
    def source(self) -> str:
        return self.fiches[0].source.name


def matching_fiches(relative_path: str, fiches: list[Fiche]) -> list[Fiche]:
    """Fiches whose source pattern (or rating-curve gaugings pattern) matches the path."""
    return [f for f in fiches if any(fnmatch.fnmatch(relative_path, p) for p in f.patterns)]


def settled_files(inbox: Path, settle_seconds: float) -> list[Path]:
    """Files not modified for `settle_seconds` (a copy in progress is left alone); Shapefile
    sidecars travel with their `.shp` and are not listed."""
    now = time.time()
    files = []
    for path in sorted(Path(inbox).rglob("*")):
        if not path.is_file() or path.suffix.lower() in SIDECARS or path.name.startswith("."):
            continue
        group = [path, *(path.with_suffix(s) for s in SIDECARS if path.with_suffix(s).exists())]
        if all(now - p.stat().st_mtime >= settle_seconds for p in group):
            files.append(path)
    return files


def route(path: Path, inbox: Path, fiches: list[Fiche]) -> Delivery | None:
    """The concepts and tiles a delivered file feeds (None when no fiche matches it)."""
    relative = path.relative_to(inbox).as_posix()
    matched = matching_fiches(relative, fiches)
    if not matched:
        return None
    tiles: set[str] | None = set()
    for fiche in matched:
        if not fiche.tiled:
            continue
        bounds = file_footprint(path, fiche.source.format, fiche.source.crs, fiche.source.layer)
        if bounds is None:
            tiles = None
            break
        assert tiles is not None  # None only on the way out of the loop
        tiles |= set(tiles_covering(bounds))
    return Delivery(
        relative,
        sha256_of(path),
        tuple(matched),
        tuple(sorted(tiles)) if tiles is not None else None,
    )


def move_to_sources(path: Path, inbox: Path, sources: Path) -> Path:
    """Move a delivered file and its sidecars to the same place under the sources folder."""
    target = Path(sources) / path.relative_to(inbox)
    target.parent.mkdir(parents=True, exist_ok=True)
    for sidecar in SIDECARS:
        if path.with_suffix(sidecar).exists():
            shutil.move(path.with_suffix(sidecar), target.with_suffix(sidecar))
    shutil.move(path, target)
    return target
