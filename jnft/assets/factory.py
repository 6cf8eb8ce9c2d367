"""The one factory that turns concept fiches into assets: a bronze landing asset per source,
a silver layer per concept (tile-partitioned where the fiche says so), a gold GeoParquet
snapshot per public vector concept."""

import logging
import re
import warnings
from collections.abc import Sequence

import dagster as dg

from jnft.assets.checks import criteria_check_results, criteria_check_specs
from jnft.assets.metadata import ingest_metadata, layer_metadata
from jnft.assets.series import build_series_asset
from jnft.formats import preview
from jnft.formats.geoparquet import write_geoparquet
from jnft.ingest.bronze import land_files, read_manifest
from jnft.ingest.pointcloud import PointCloudSource, ingest_pointcloud
from jnft.ingest.raster import RasterSource, ingest_raster
from jnft.ingest.table import TableSource, ingest_table
from jnft.ingest.vector import LayerSpec, VectorSource, ingest_vector
from jnft.ingest.vintages import IngestReport
from jnft.lakehouse.history import current
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.summary import LayerSummary, summarize
from jnft.quality.fiche import Fiche
from jnft.quality.observe import observe
from jnft.tiles import TARGET_CRS

LOG = logging.getLogger(__name__)
SOURCES_GROUP = "sources"
LAYERS_GROUP = "territory_layers"
DERIVED_GROUP = "derived"


def bronze_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", source])


def silver_key(concept: str) -> dg.AssetKey:
    return dg.AssetKey(["silver", concept])


def gold_key(concept: str) -> dg.AssetKey:
    return dg.AssetKey(["gold", concept])


def published_layer_deps(fiches: Sequence[Fiche]) -> list[dg.AssetKey]:
    """Every silver layer and every public gold file: what the lakehouse-wide assets read."""
    deps = [silver_key(f.id) for f in fiches]
    return deps + [gold_key(f.id) for f in fiches if f.kind == "vector" and f.is_public]


def _tiles(context: dg.AssetExecutionContext) -> list[str] | None:
    return (
        list(context.partition_keys)
        if context.has_partition_key_range or context.has_partition_key
        else None
    )


def _ingest(
    store: Lakehouse,
    fiche: Fiche,
    tiles: list[str] | None,
    run_id: str,
    log: logging.Logger | None = None,
) -> IngestReport:
    """Every landed vintage of the fiche's source, merged for the tiles."""
    entries = read_manifest(store, fiche.source.name)
    if fiche.table is not None:
        t = fiche.table
        source = TableSource(
            dict(t.columns), dict(t.rename), t.id_column, t.delimiter, fiche.source.encoding
        )
        return ingest_table(store, fiche.id, source, entries, run_id=run_id)
    if fiche.pointcloud is not None:
        p = fiche.pointcloud
        source = PointCloudSource(fiche.source.crs, p.resolution, p.pipelines(), p.chunk_points)
        return ingest_pointcloud(
            store,
            fiche.id,
            source,
            entries,
            tiles=tiles,
            run_id=run_id,
            extent=fiche.criteria.c06_extent.bbox,
            on_tile=lambda tile, done, total: (log or LOG).info(
                f"{fiche.id}: tile {tile} rasterized ({done}/{total})"
            ),
        )
    if fiche.vector is not None:
        v = fiche.vector
        precision = fiche.criteria.c08_precision
        spec = LayerSpec(
            dict(v.columns),
            dict(v.rename),
            v.id_column,
            list(v.identity_columns),
            v.keep_z,
            geometry_type=v.geometry_type,
            extent=fiche.criteria.c06_extent.bbox,
            extent_tolerance=max(precision.resolution_m or 0, precision.positional_accuracy_m or 0),
        )
        source = VectorSource(
            fiche.source.format, fiche.source.layer, fiche.source.crs, spec, fiche.source.encoding
        )
        return ingest_vector(store, fiche.id, source, entries, tiles=tiles, run_id=run_id)
    assert fiche.raster is not None
    r = fiche.raster
    raster = RasterSource(fiche.source.crs, r.resolution, r.nodata, r.dtype)
    return ingest_raster(store, fiche.id, raster, entries, tiles=tiles, run_id=run_id)


def _preview(store: Lakehouse, fiche: Fiche, summary: LayerSummary) -> bytes | None:
    if summary.current is None or summary.rows == 0:
        return None
    if fiche.kind == "table":
        return None
    if fiche.kind != "vector":
        paths = [str(store.root / p) for p in summary.current["path"].to_pylist()]
        return preview.raster_preview(paths, fiche.title)
    return preview.vector_preview(summary.wkb, fiche.title)


def build_source_asset(fiches: Sequence[Fiche]) -> dg.AssetsDefinition:
    """Land the files of a source (shared by several concepts) in bronze, content-addressed."""
    source = fiches[0].source
    patterns = list(dict.fromkeys(p for f in fiches for p in f.patterns))

    @dg.asset(
        key=bronze_key(source.name),
        group_name=SOURCES_GROUP,
        description=f"Deliveries of {source.producer} `{source.pattern}` landed in "
        f"bronze/{source.name}/ (immutable, by sha256). Feeds: "
        + ", ".join(f.id for f in fiches)
        + ".",
        owners=sorted({o for f in fiches for o in f.owners}),
        tags={
            "producer": re.sub(r"[^a-z0-9_.-]+", "_", source.producer.lower()).strip("_"),
            "layer": "bronze",
        },
        kinds={"file"},
        required_resource_keys={"lakehouse"},
    )
    def _land(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        lakehouse = context.resources.lakehouse
        new = []
        for pattern in patterns:
            entries, landed = land_files(
                lakehouse.store(),
                source.name,
                lakehouse.sources_dir,
                pattern,
                source.vintage_pattern,
            )
            new += landed
        return dg.MaterializeResult(
            metadata={
                "files": len(entries),
                "newly_landed": len(new),
                "vintages": dg.MetadataValue.json(sorted({e.vintage for e in entries})),
                "bytes": sum(e.size for e in entries),
                "landed": dg.MetadataValue.md(
                    "\n".join(
                        ["| vintage | file | sha256 |", "|---|---|---|"]
                        + [
                            f"| {e.vintage} | {e.relative_path} | `{e.sha256[:12]}` |"
                            for e in entries
                        ]
                    )
                ),
            }
        )

    return _land


def build_layer_asset(fiche: Fiche, tiles: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Merge every landed vintage into the concept's silver history, for the run's tiles."""

    @dg.asset(
        key=silver_key(fiche.id),
        group_name=LAYERS_GROUP,
        deps=[bronze_key(fiche.source.name)],
        description=f"**{fiche.title}** — {fiche.description}",
        owners=fiche.owners,
        tags={"role": fiche.role, "theme": fiche.theme, "layer": "silver"},
        kinds={"delta", fiche.kind},
        partitions_def=tiles if fiche.tiled else None,
        required_resource_keys={"lakehouse"},
        metadata={"concept": fiche.id, "role": fiche.role, "kind": fiche.kind},
        check_specs=criteria_check_specs(
            fiche, silver_key(fiche.id), tiles if fiche.tiled else None
        ),
    )
    def _layer(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        scope = _tiles(context)
        report = _ingest(store, fiche, scope, context.run.run_id, context.log)
        summary = summarize(store, fiche.id, scope)
        image = _preview(store, fiche, summary)
        uri = store.table_uri(fiche.id, "versions")
        return dg.MaterializeResult(
            metadata={**layer_metadata(summary, uri, image), **ingest_metadata(report)},
            check_results=criteria_check_results(
                fiche, observe(store, fiche, scope, rows=summary.current)
            ),
        )

    return _layer


def build_gold_asset(fiche: Fiche) -> dg.AssetsDefinition:
    """Snapshot the current rows as GeoParquet 1.1 for any GIS tool."""

    @dg.asset(
        key=gold_key(fiche.id),
        group_name=DERIVED_GROUP,
        deps=[silver_key(fiche.id)],
        description=f"Current {fiche.title.lower()} as a GeoParquet 1.1 file "
        f"(gold/{fiche.id}.parquet), with bbox covering, for QGIS, GDAL, geopandas.",
        owners=fiche.owners,
        tags={"role": fiche.role, "theme": fiche.theme, "layer": "gold"},
        kinds={"geoparquet"},
        required_resource_keys={"lakehouse"},
    )
    def _gold(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        rows = current(store.table_uri(fiche.id, "versions"), store.table_uri(fiche.id, "closures"))
        path = store.gold_path(fiche.id)
        geo = write_geoparquet(rows, path, TARGET_CRS)
        column = geo["columns"]["geometry"]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows.num_rows,
                "dagster/uri": dg.MetadataValue.path(str(path)),
                "geometry_types": dg.MetadataValue.json(column["geometry_types"]),
                "bbox": dg.MetadataValue.json(column.get("bbox")),
                "bytes": path.stat().st_size,
            }
        )

    return _gold


def build_concept_assets(
    fiches: Sequence[Fiche], tiles: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """Every asset the fiches imply, sources deduplicated."""
    by_source: dict[str, list[Fiche]] = {}
    for fiche in fiches:
        by_source.setdefault(fiche.source.name, []).append(fiche)
    assets = [build_source_asset(group) for group in by_source.values()]
    with warnings.catch_warnings():  # checks per tile partition are a preview feature
        warnings.simplefilter("ignore", dg.PreviewWarning)
        assets += [
            build_series_asset(f, [bronze_key(f.source.name)], silver_key(f.id))
            if f.kind == "timeseries"
            else build_layer_asset(f, tiles)
            for f in fiches
        ]
    assets += [build_gold_asset(f) for f in fiches if f.kind == "vector" and f.is_public]
    return assets
