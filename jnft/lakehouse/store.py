"""Where things live in the lakehouse (bronze / silver / gold / catalog) and landing of sources."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandedFile:
    """A source file copied into bronze, addressed by its content."""

    source: str
    original_name: str
    sha256: str
    path: Path


# A shapefile is several files; they travel together and are hashed together.
_SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def sha256_of(*paths: Path, chunk: int = 1 << 20) -> str:
    """Content hash of one file, or of several files read in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()


def _suffix(path: Path) -> str:
    return ".copc.laz" if path.name.lower().endswith(".copc.laz") else path.suffix.lower()


def _companions(path: Path) -> list[Path]:
    """The file and, for a shapefile, its sidecars (any case of extension), .shp first."""
    if path.suffix.lower() != ".shp":
        return [path]
    found = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*")}
    return [found[ext] for ext in _SHAPEFILE_SIDECARS if ext in found]


@dataclass(frozen=True)
class Lakehouse:
    """The layout of one lakehouse root (a local folder)."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> Lakehouse:
        text = str(root)
        if "://" in text:
            raise NotImplementedError(
                f"object-store lakehouse roots ({text}) are not supported yet; use a local path"
            )
        return cls(Path(text).expanduser().resolve())

    def bronze_dir(self, source: str) -> Path:
        return self.root / "bronze" / source

    def silver_dir(self, concept: str) -> Path:
        return self.root / "silver" / concept

    def table_uri(self, concept: str, table: str) -> str:
        """A Delta table of a concept: `versions`, `closures`, `index`, `quarantine`."""
        return str(self.silver_dir(concept) / table)

    def cog_path(self, concept: str, tile: str, vintage: str) -> Path:
        return self.silver_dir(concept) / "cog" / tile / f"{vintage}.tif"

    def gold_path(self, concept: str) -> Path:
        return self.root / "gold" / f"{concept}.parquet"

    def simulation_dir(self, scenario: str, tile: str | None = None) -> Path:
        """gold/simulation/<scenario>/<tile>/: a scenario's maps of a tile (COGs)."""
        folder = self.root / "gold" / "simulation" / scenario
        return folder / tile if tile else folder

    def simulation_table(self, name: str) -> str:
        """A Delta table of every scenario's results: `exposure`, `equipment`, `maps`."""
        return str(self.root / "gold" / "simulation" / "tables" / name)

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    @property
    def duckdb_path(self) -> Path:
        return self.root / "lakehouse.duckdb"

    def land(self, source: str, path: Path) -> LandedFile:
        """Copy a source file into bronze under its sha256 (idempotent; bronze is immutable)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"source file {path} does not exist")
        files = _companions(path)
        digest = sha256_of(*files)
        folder = self.bronze_dir(source)
        folder.mkdir(parents=True, exist_ok=True)
        for file in reversed(files):  # the main file last: its presence means the set is whole
            target = folder / f"{digest}{_suffix(file)}"
            if not target.exists():
                partial = target.with_name(target.name + ".partial")
                shutil.copyfile(file, partial)
                partial.replace(target)
        return LandedFile(source, path.name, digest, folder / f"{digest}{_suffix(path)}")
