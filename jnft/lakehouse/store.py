"""Where things live in the lakehouse (bronze / silver / gold / catalog) and landing of sources.

A lakehouse is a local folder, or a bucket prefix (`s3://…`) mirrored by a local working copy:
paths below are always of the local folder; writers `publish` what they wrote, readers `fetch`
what they read and `listing` what is there (see `remote.py`). On a local lakehouse these are
the files themselves."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jnft.lakehouse.remote import Remote

if TYPE_CHECKING:
    from jnft.settings import Settings


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


# The folders of the lakehouse written whole (a catalog swapped in, a screening's results).
WHOLE_FOLDERS = ("catalog", "gold/screening")


@dataclass(frozen=True)
class Lakehouse:
    """The layout of one lakehouse: a local folder, or the working copy of a bucket prefix."""

    root: Path
    remote: Remote | None = None

    @classmethod
    def at(cls, root: str | os.PathLike[str], remote: str | None = None) -> Lakehouse:
        """The lakehouse in the folder `root`, mirroring `remote` (`s3://bucket/prefix`)."""
        text = str(root)
        if "://" in text:
            raise ValueError(f"{text}: a lakehouse's local folder, not a URL (see Settings)")
        folder = Path(text).expanduser().resolve()
        return cls(folder, Remote.at(remote, folder) if remote else None)

    @classmethod
    def of(cls, settings: Settings) -> Lakehouse:
        return cls.at(settings.lakehouse, settings.lakehouse_url)

    @property
    def url(self) -> str:
        """Where the lakehouse is, as readers other than this process address it."""
        return self.remote.url if self.remote else str(self.root)

    def uri(self, path: Path) -> str:
        """The address of a file of the lakehouse for DuckDB, STAC hrefs and other readers."""
        return self.remote.uri(path) if self.remote else str(path)

    def whole(self, folder: Path) -> bool:
        """Whether `folder` is written whole by one process, so that publishing it may delete
        the objects it no longer has: bronze, silver and the simulation tables hold objects
        no working copy mirrors, and must never be published as a folder."""
        relative = Path(os.path.abspath(folder)).relative_to(self.root)
        return any(relative.is_relative_to(w) for w in WHOLE_FOLDERS)

    def publish(self, path: Path) -> Path:
        """Make a file (or a folder's files) written in the working copy the lakehouse's."""
        if path.is_dir() and not self.whole(path):
            raise ValueError(f"{path}: only {', '.join(WHOLE_FOLDERS)} are published whole")
        if self.remote:
            self.remote.put(path)
        return path

    def fetch(self, path: Path) -> Path:
        """A readable local copy of a file of the lakehouse."""
        return self.remote.fetch(path) if self.remote else path

    def fetch_folder(self, folder: Path) -> Path:
        """`folder` with a readable local copy of every file below it."""
        if self.remote:
            for path in self.listing(folder, "**/*"):
                self.remote.fetch(path)
        return folder

    def file(self, relative: str) -> Path:
        """A readable local copy of a file given by its path in the lakehouse (index rows)."""
        return self.fetch(self.root / relative)

    def href(self, relative: str) -> str:
        """The address of a file given by its path in the lakehouse (STAC assets, SQL)."""
        return self.uri(self.root / relative)

    def local(self, address: str) -> Path:
        """A readable local copy of a file given by its address (an href of the database)."""
        if self.remote and address.startswith(self.remote.url + "/"):
            return self.file(address.removeprefix(self.remote.url + "/"))
        return Path(address)

    def remove(self, path: Path) -> None:
        """Remove a file of the lakehouse, from the bucket too when the lakehouse is one."""
        path.unlink(missing_ok=True)
        if self.remote:
            self.remote.delete(path)

    def exists(self, path: Path) -> bool:
        return (self.remote.head(path) is not None) if self.remote else path.exists()

    def listing(self, folder: Path, pattern: str = "*") -> Iterator[Path]:
        """The files below `folder` whose path relative to it matches `pattern`."""
        if not self.remote:
            yield from (p for p in folder.glob(pattern) if p.is_file())
            return
        # As Path.glob: `**/` matches any depth (PurePath.match is anchored to the right).
        recursive, rest = pattern.startswith("**/"), pattern.removeprefix("**/")
        depth = len(Path(rest).parts)
        for path in self.remote.listing(folder):
            relative = path.relative_to(folder)
            if (recursive or len(relative.parts) == depth) and relative.match(rest):
                yield path

    def bronze_dir(self, source: str) -> Path:
        return self.root / "bronze" / source

    def silver_dir(self, concept: str) -> Path:
        return self.root / "silver" / concept

    def table_uri(self, concept: str, table: str) -> str:
        """A Delta table of a concept: `versions`, `closures`, `index`, `quarantine`."""
        return self.uri(self.silver_dir(concept) / table)

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
        return self.uri(self.root / "gold" / "simulation" / "tables" / name)

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
            if not self.exists(target):  # in the bucket, when the lakehouse is one
                self.publish(target)
        return LandedFile(source, path.name, digest, folder / f"{digest}{_suffix(path)}")
