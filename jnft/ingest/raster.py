"""Bronze to silver for a raster concept: each landed vintage's grids mosaicked onto the tiles
(grids in another CRS reprojected onto the territory's grid), written as COGs and indexed in
the concept's history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import shapely

from jnft.formats import raster
from jnft.formats.crs import overlaps
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.vintages import (
    IngestReport,
    VintageRows,
    merge_vintages,
    readable_files,
    sources_key,
)
from jnft.lakehouse.history import current_state
from jnft.lakehouse.store import Lakehouse
from jnft.tiles import BBOX_COLUMNS, TARGET_CRS, tile_grid_bounds, tiles_covering


@dataclass(frozen=True)
class RasterSource:
    fallback_crs: str | None
    resolution: float
    nodata: float
    dtype: str
    resampling: str = "bilinear"  # for grids in another CRS than the territory's
    extent: tuple[float, float, float, float] | None = None  # the territory, Lambert-93


def raster_index_row(tile_info: raster.RasterTile, root: Path, sources: str) -> dict:
    footprint = shapely.box(*tile_info.bounds)
    return {
        "feature_id": tile_info.tile,
        "path": tile_info.path.relative_to(root).as_posix(),
        "crs": tile_info.crs,
        "resolution": tile_info.resolution,
        "nodata": tile_info.nodata,
        "width": tile_info.width,
        "height": tile_info.height,
        "valid_fraction": tile_info.valid_fraction,
        "valid_cells": tile_info.valid_cells,
        "minimum": tile_info.minimum,
        "maximum": tile_info.maximum,
        "mean": tile_info.mean,
        "geometry": shapely.to_wkb(footprint),
        **dict(zip(BBOX_COLUMNS, tile_info.bounds, strict=True)),
        "tile": tile_info.tile,
        # The first 64 bits of the content hash, as a signed int64 like every row_hash.
        "row_hash": int.from_bytes(
            bytes.fromhex(tile_info.content_sha256[:16]), "big", signed=True
        ),
        "source_sha256": sources,
    }


INDEX_SCHEMA = pa.schema(
    [
        ("feature_id", pa.string()),
        ("path", pa.string()),
        ("crs", pa.string()),
        ("resolution", pa.float64()),
        ("nodata", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("valid_fraction", pa.float64()),
        ("valid_cells", pa.int64()),
        ("minimum", pa.float64()),
        ("maximum", pa.float64()),
        ("mean", pa.float64()),
        ("geometry", pa.binary()),
        *[(c, pa.float64()) for c in BBOX_COLUMNS],
        ("tile", pa.string()),
        ("row_hash", pa.int64()),
        ("source_sha256", pa.string()),
    ]
)


def union_bounds(
    bounds: list[tuple[float, float, float, float]],
) -> tuple[float, float, float, float]:
    return (
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )


def unchanged_hashes(store: Lakehouse, concept: str) -> dict[str, int]:
    """row_hash of each tile's current index row: a tile whose content hash is unchanged keeps
    its COG files."""
    current = current_state(
        store.table_uri(concept, "versions"), store.table_uri(concept, "closures"), None
    )
    if current.is_empty():
        return {}
    return dict(zip(current["tile"].to_list(), current["row_hash"].to_list(), strict=True))


def reprojection(sources: list[raster.SourceGrid], resampling: str) -> str | None:
    """How a tile's cells came from sources in other CRSs (None: from Lambert-93 ones)."""
    moved = sorted({s.crs for s in sources if s.reprojected})
    if not moved:
        return None
    return f"reprojected from {', '.join(moved)} to {TARGET_CRS} ({resampling} resampling)"


def ingest_raster(
    store: Lakehouse,
    concept: str,
    source: RasterSource,
    entries: list[BronzeEntry],
    *,
    tiles: list[str] | None,
    run_id: str,
    staged: bool = False,
) -> IngestReport:
    """Mosaic each landed vintage onto the tile grid as COGs and merge the tile index."""

    def read(entry: BronzeEntry) -> raster.SourceGrid:
        return raster.inspect_source(
            Path(entry.bronze_path), source.fallback_crs, source.resolution, source.extent
        )

    def rows_of(
        files: list[BronzeEntry], wanted: Callable[[str], bool], report: IngestReport
    ) -> VintageRows:
        readable = readable_files(store, concept, files, read, report)
        grids = [grid for _, grid in readable]
        unchanged = unchanged_hashes(store, concept)
        rows = []
        covered = tiles_covering(union_bounds([g.bounds for g in grids])) if grids else []
        for tile in filter(wanted, covered):
            cells = tile_grid_bounds(tile, source.resolution)
            overlapping = [g for g in grids if overlaps(g.bounds, cells)]
            if not overlapping:
                continue
            array, transform = raster.mosaic_tile(
                overlapping,
                tile,
                resolution=source.resolution,
                nodata=source.nodata,
                dtype=source.dtype,
                resampling=source.resampling,
            )
            path = store.cog_path(concept, tile, files[0].vintage)
            info = raster.describe(
                array, transform, tile=tile, path=path, crs=TARGET_CRS, nodata=source.nodata
            )
            row = raster_index_row(info, store.root, sources_key(files))
            if unchanged.get(tile) != row["row_hash"]:  # an unchanged tile keeps its COG
                lineage = reprojection(overlapping, source.resampling)
                raster.write_cog(array, transform, TARGET_CRS, source.nodata, path, lineage)
                store.publish(path)
            rows.append(row)
        return VintageRows(
            pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), complete=len(readable) == len(files)
        )

    return merge_vintages(store, concept, entries, tiles, run_id, rows_of, staged)
