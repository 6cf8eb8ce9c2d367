"""Bronze to silver for a point-cloud concept: each landed vintage's LAS/LAZ/COPC files are
rasterized into product COGs (DTM, DSM…) per tile, streamed, and the per-tile index (point
count, density, class histogram, products) is merged into the concept's history."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyproj
import rasterio
import shapely

from jnft.formats import raster
from jnft.formats.crs import lineage, locate
from jnft.formats.geometry import crs_of
from jnft.formats.pdal import RasterPipeline, TileProducts, rasterize_tile
from jnft.formats.pointcloud import GridWindow
from jnft.formats.pointcloud import read_info as read_pointcloud_info
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.quarantine import reject_file
from jnft.ingest.raster import (
    INDEX_SCHEMA,
    raster_index_row,
    unchanged_hashes,
    union_bounds,
)
from jnft.ingest.vintages import (
    IngestReport,
    VintageRows,
    merge_vintages,
    readable_files,
    sources_key,
)
from jnft.lakehouse.store import Lakehouse
from jnft.tiles import TARGET_CRS, tile_bounds, tiles_covering


@dataclass(frozen=True)
class LocatedFile:
    """A readable point-cloud file as the tiles see it."""

    footprint: tuple[float, float, float, float]  # header box in the territory's CRS
    to_territory: pyproj.Transformer | None  # None: the points are in it already
    lineage: str | None  # how the points were transformed, for the COGs' tags


@dataclass(frozen=True)
class PointCloudSource:
    fallback_crs: str | None
    resolution: float
    products: dict[str, RasterPipeline]  # name -> pipeline, the first is the index's `path`
    chunk_points: int


POINTCLOUD_SCHEMA = pa.schema(
    [
        *INDEX_SCHEMA,
        ("point_count", pa.int64()),
        ("density", pa.float64()),  # points per m² over the area the files cover in the tile
        ("class_histogram", pa.string()),  # JSON {ASPRS class: points}
        ("zmin", pa.float64()),
        ("zmax", pa.float64()),
        ("products", pa.string()),  # JSON {product: COG path}
        ("las_files", pa.int32()),
    ]
)


def ingest_pointcloud(
    store: Lakehouse,
    concept: str,
    source: PointCloudSource,
    entries: list[BronzeEntry],
    *,
    tiles: list[str] | None,
    run_id: str,
    staged: bool = False,
    extent: tuple[float, float, float, float] | None = None,
    on_tile: Callable[[str, int, int], None] | None = None,
) -> IngestReport:
    """Rasterize each landed vintage's point clouds into product COGs (DTM, DSM…) per tile,
    streamed, and merge the per-tile index. Points in another CRS are transformed to the
    territory's (Lambert-93, heights NGF-IGN69); files that cannot be, whose header lies
    outside France or the declared `extent`, or that fail to decode, are quarantined;
    `on_tile(tile, done, total)` reports progress."""

    def read(entry: BronzeEntry) -> LocatedFile:
        info = read_pointcloud_info(Path(entry.bronze_path), source.fallback_crs)
        native = crs_of(info.crs)
        footprint, to_territory = locate(
            entry.bronze_path,
            info.bounds,
            native,
            extent,
            heights=True,
            z=(info.zmin, info.zmax),
        )
        return LocatedFile(footprint, to_territory, lineage(native, to_territory))

    def rows_of(
        files: list[BronzeEntry], wanted: Callable[[str], bool], report: IngestReport
    ) -> VintageRows:
        readable = readable_files(store, concept, files, read, report)
        located = {Path(e.bronze_path): f for e, f in readable}
        bounds = {path: f.footprint for path, f in located.items()}
        transforms = {p: f.to_territory for p, f in located.items() if f.to_territory is not None}
        by_path = {Path(e.bronze_path): e for e, _ in readable}
        unchanged = unchanged_hashes(store, concept)
        nodata = {name: p.writer.nodata for name, p in source.products.items()}
        covered = tiles_covering(union_bounds(list(bounds.values()))) if bounds else []
        todo = [t for t in covered if wanted(t)]
        rows, complete = [], len(readable) == len(files)
        for done, tile in enumerate(todo):
            window = raster.data_window(list(bounds.values()), tile, source.resolution)
            if window is None:
                continue
            grid = GridWindow.from_bounds(window, source.resolution)
            products = rasterize_tile(
                list(bounds.items()), source.products, grid, source.chunk_points, transforms
            )
            for path, reason in products.failures:
                entry = by_path[path]
                reason = reason.replace(entry.bronze_path, entry.relative_path)
                uri = store.table_uri(concept, "quarantine")
                reject_file(uri, entry.sha256, entry.relative_path, reason)
                report.rejected_files.append(reason)
                report.quarantined += 1
                complete = False
            if products.stats.point_count == 0:
                continue
            notes = {note for p in products.stats.files if (note := located[p].lineage)}
            rows.append(
                _pointcloud_index_row(
                    store,
                    concept,
                    tile,
                    files,
                    grid,
                    products,
                    nodata,
                    unchanged,
                    covered_area(list(bounds.values()), tile),
                    "; ".join(sorted(notes)) or None,
                )
            )
            if on_tile is not None:
                on_tile(tile, done + 1, len(todo))
        return VintageRows(pa.Table.from_pylist(rows, schema=POINTCLOUD_SCHEMA), complete)

    return merge_vintages(store, concept, entries, tiles, run_id, rows_of, staged)


def covered_area(bounds: list[tuple[float, float, float, float]], tile: str) -> float:
    """m² of the tile that the files' header boxes cover (overlaps counted once)."""
    union = shapely.union_all([shapely.box(*b) for b in bounds])
    return float(shapely.intersection(union, shapely.box(*tile_bounds(tile))).area)


def _pointcloud_index_row(
    store: Lakehouse,
    concept: str,
    tile: str,
    files: list[BronzeEntry],
    grid: GridWindow,
    products: TileProducts,
    source_nodata: dict[str, float],
    unchanged: dict[str, int],
    area: float,
    lineage: str | None,
) -> dict:
    """Write the tile's product COGs (unless unchanged) and describe them for the index."""
    vintage = files[0].vintage
    transform = rasterio.Affine(grid.resolution, 0, grid.x0, 0, -grid.resolution, grid.y1)
    paths, digest = {}, hashlib.sha256()
    infos = {}
    for name, array in products.arrays.items():
        nodata = source_nodata[name]
        path = store.cog_path(concept, tile, f"{vintage}_{name}")
        infos[name] = raster.describe(
            array, transform, tile=tile, path=path, crs=TARGET_CRS, nodata=nodata
        )
        paths[name] = path.relative_to(store.root).as_posix()
        digest.update(infos[name].content_sha256.encode())
    primary = infos[next(iter(infos))]
    row = raster_index_row(primary, store.root, sources_key(files))
    row["row_hash"] = int.from_bytes(digest.digest()[:8], "big", signed=True)
    if unchanged.get(tile) != row["row_hash"]:
        for name, array in products.arrays.items():
            raster.write_cog(
                array, transform, TARGET_CRS, infos[name].nodata, infos[name].path, lineage
            )
            store.publish(infos[name].path)
    stats = products.stats
    histogram = {str(c): int(n) for c, n in enumerate(stats.histogram) if n}
    return {
        **row,
        "point_count": stats.point_count,
        "density": stats.point_count / area if area else 0.0,
        "class_histogram": json.dumps(histogram),
        "zmin": stats.zmin,
        "zmax": stats.zmax,
        "products": json.dumps(paths),
        "las_files": len(stats.files),
    }
