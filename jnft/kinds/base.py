"""What a kind of concept declares: its fiche spec, the formats it reads, what its criteria may
say (geometry type, acquisition methods), and how its data is landed, read back, observed for
the checks, viewed in SQL, previewed and catalogued. Each kind module subclasses `Kind`; callers
loop over the registry (`jnft/kinds/__init__.py`) instead of branching on a kind's name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

import pandas as pd
import polars as pl
import pyarrow as pa
from pydantic import BaseModel

from jnft.lakehouse.store import Lakehouse

if TYPE_CHECKING:  # the fiche composes a kind's spec: kinds only read fiches
    import pystac

    from jnft.quality.expectations import ExpectationOutcome
    from jnft.quality.fiche import Fiche

# How a kind's rows locate themselves: features with geometries, tiles of a grid, stations
# that carry the location of their observations, or nothing (attribute tables, joined by code).
Footprint = Literal["features", "grid", "stations", "none"]


@dataclass
class Observation:
    """What the data shows about a concept: the observed half of the criteria."""

    rows: int = 0
    columns: list[str] = field(default_factory=list)
    geometry_types: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    tiles: list[str] = field(default_factory=list)
    vintages: list[str] = field(default_factory=list)
    source_files: set[str] = field(default_factory=set)  # sha256 the rows trace to
    bronze_files: set[str] = field(default_factory=set)  # sha256 landed in bronze
    expectations: list[ExpectationOutcome] = field(default_factory=list)  # the C9 suite
    # Rows of the latest delivery that were quarantined: criterion -> reason -> (count, ids).
    quarantined: dict[str, dict[str, tuple[int, list[str]]]] = field(default_factory=dict)
    resolutions: list[float] = field(default_factory=list)
    crs: list[str] = field(default_factory=list)
    cog_problems: list[str] = field(default_factory=list)
    densities: dict[str, float] = field(default_factory=dict)  # points/m² per tile
    rejected_files: int = 0  # whole files of the concept in quarantine
    # Why they were rejected: `criterion: reason` of each.
    rejections: list[str] = field(default_factory=list)
    emptied: bool = False  # no current row, but the tiles held some before
    # Tiles whose observed version covers fewer valid cells than the published one.
    coverage_drops: dict[str, list[int]] = field(default_factory=dict)
    empty_tiles: dict[str, str] = field(default_factory=dict)  # tile -> why its grid is empty
    gold_geo: dict | None = None
    # The columns the C9 suite checks (`feature_id`, required, ranged, `geometry_is_valid`).
    checked: pd.DataFrame | None = None

    @property
    def latest_vintage(self) -> dt.date | None:
        return dt.date.fromisoformat(max(self.vintages)) if self.vintages else None


def extent(frame: pl.DataFrame) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) over the rows' bbox columns."""
    return cast(  # polars types a column's min and max as any Python scalar
        tuple[float, float, float, float],
        (
            frame["bbox_xmin"].min(),
            frame["bbox_ymin"].min(),
            frame["bbox_xmax"].max(),
            frame["bbox_ymax"].max(),
        ),
    )


@dataclass(frozen=True)
class Scope:
    """What a landing covers: the run's tiles (None: every tile), its id, and where progress
    of long work is reported."""

    tiles: list[str] | None
    run_id: str
    progress: Callable[[str], None] = print
    audit: bool = False  # stage what is landed; the caller publishes it once audited

    def merging(self) -> dict[str, Any]:
        """The keywords of the tiled ingestions (`ingest_vector`, `ingest_raster`…)."""
        return {"tiles": self.tiles, "run_id": self.run_id, "staged": self.audit}


@dataclass
class Landing:
    """What landing a concept's deliveries did, for the materialization: plain values (lists
    and dicts shown as JSON), Markdown tables, the current rows in scope (observed by the
    checks) and a preview."""

    uri: str
    values: dict[str, Any]
    markdown: dict[str, str] = field(default_factory=dict)
    rows: pa.Table | None = None  # as they are once published
    schema: pa.Schema | None = None
    preview: bytes | None = None
    staged: pl.DataFrame | None = None  # (run_id, tile, vintage) merges awaiting publication


Spec = TypeVar("Spec", bound=BaseModel)


class Kind(Generic[Spec]):
    """A kind of concept. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    spec: type[Spec]  # the model of the fiche's `<name>:` section
    formats: ClassVar[tuple[str, ...]]  # source formats it reads
    geometry_types: ClassVar[tuple[str, ...]]  # what criteria.c01_nature.geometry_type may say
    methods: ClassVar[frozenset[str]]  # acquisition methods (C4) that can produce it
    footprint: ClassVar[Footprint]
    tileable: ClassVar[bool] = True  # whether its layer may be partitioned by tile
    gold: ClassVar[bool] = False  # whether it is published as a gold GeoParquet snapshot
    points: ClassVar[bool] = False  # whether its precision is a point density (C8)

    @property
    def gridded(self) -> bool:
        return self.footprint == "grid"

    def spec_of(self, fiche: Fiche) -> Spec:
        """The fiche's section of this kind, typed."""
        spec = fiche.spec
        if not isinstance(spec, self.spec):
            raise TypeError(f"{fiche.id}: a {fiche.kind} fiche read as {self.name}")
        return spec

    def check(self, fiche: Fiche) -> None:
        """Raise ValueError when the fiche's parts disagree (beyond the spec's own rules)."""

    def companion_patterns(self, fiche: Fiche) -> list[str]:
        """Patterns of files landed with the deliveries (beside `source.pattern`)."""
        return []

    def land(self, store: Lakehouse, fiche: Fiche, scope: Scope) -> Landing:
        """Merge or append every landed delivery of the concept for the scope's tiles."""
        raise NotImplementedError

    def publish(self, store: Lakehouse, fiche: Fiche, landing: Landing) -> None:
        """Make what an audited landing staged the current territory."""

    def hold(self, store: Lakehouse, fiche: Fiche, landing: Landing, reasons: list[str]) -> None:
        """Keep what a landing staged out of the territory, with the reasons its audit gave."""

    def exists(self, store: Lakehouse, fiche: Fiche) -> bool:
        """Whether the concept has a table in the lakehouse yet."""
        raise NotImplementedError

    def current(self, store: Lakehouse, fiche: Fiche, tiles: list[str] | None = None) -> pa.Table:
        """The current rows (all tiles when None)."""
        raise NotImplementedError

    def had_rows(self, store: Lakehouse, fiche: Fiche, tiles: list[str] | None) -> bool:
        """Whether the tiles ever held rows of the concept (its history, not only today)."""
        return False

    def observe(
        self,
        store: Lakehouse,
        fiche: Fiche,
        obs: Observation,
        rows: pa.Table,
        tiles: list[str] | None,
    ) -> None:
        """Fill the observation from the current rows (not empty) of the tiles in scope."""
        raise NotImplementedError

    def views(self, store: Lakehouse, fiche: Fiche) -> list[dict[str, str]]:
        """Placeholders of the SQL templates (`-- applies-to: <kind>`) for this concept."""
        raise NotImplementedError

    def stac_assets(self, store: Lakehouse, fiche: Fiche, row: dict) -> dict[str, pystac.Asset]:
        """The data assets of a catalog item (one tile and vintage of current rows)."""
        return {}
