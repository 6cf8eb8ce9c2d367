"""The one factory that turns concept fiches into assets: a bronze landing asset per source,
a silver layer per concept (tile-partitioned where the fiche says so), a gold GeoParquet
snapshot per public vector concept."""

import re
import warnings
from collections.abc import Sequence

import dagster as dg

from jnft.assets.checks import criteria_check_results, criteria_check_specs
from jnft.assets.metadata import landing_metadata
from jnft.assets.pods import LAYER_CONTAINER, k8s_op_tags
from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.history import current
from jnft.publish.gold import write_gold
from jnft.quality.checks import blocking_failures, evaluate
from jnft.quality.fiche import Fiche
from jnft.quality.observe import observe

SOURCES_GROUP = "sources"
LAYERS_GROUP = "territory_layers"
DERIVED_GROUP = "derived"
# A backfill of a tiled layer runs its tiles in batches: one run (a process, its imports and
# definitions, a read of the delivery files, a merge commit) lands this many tiles. A run's
# startup is ~4.5 s and a layer's tile takes about as much (measured by bench/national.py), so
# one run per tile would spend half of France's ~5,500 tiles starting; batches of 16 make
# ~350 runs of a national layer, still more than the workers to run them. The criteria of a
# batch are checked once, over its tiles together.
LAYER_TILES_PER_RUN = 16


def bronze_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", source])


def silver_key(concept: str) -> dg.AssetKey:
    return dg.AssetKey(["silver", concept])


def gold_key(concept: str) -> dg.AssetKey:
    return dg.AssetKey(["gold", concept])


def published_layer_deps(fiches: Sequence[Fiche]) -> list[dg.AssetKey]:
    """Every silver layer and every public gold file: what the lakehouse-wide assets read."""
    deps = [silver_key(f.id) for f in fiches]
    return deps + [gold_key(f.id) for f in fiches if publishes_gold(f)]


def publishes_gold(fiche: Fiche) -> bool:
    return kind_of(fiche).gold and fiche.is_public


def _tiles(context: dg.AssetExecutionContext) -> list[str] | None:
    return (
        list(context.partition_keys)
        if context.has_partition_key_range or context.has_partition_key
        else None
    )


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
            try:
                entries, landed = land_files(
                    lakehouse.store(),
                    source.name,
                    lakehouse.sources_dir,
                    pattern,
                    source.vintage_pattern,
                )
            except FileNotFoundError as error:
                fiche_files = ", ".join(f"{f.id}.yaml" for f in fiches if pattern in f.patterns)
                raise FileNotFoundError(
                    f"{error}: fix `source.pattern` of {fiche_files} (concepts/), or the delivery"
                ) from None
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
    """Land every delivery into the concept's silver tables (merged vintages, or appended
    observations), for the run's tiles, and check the criteria in the same step."""
    kind = kind_of(fiche)

    @dg.asset(
        key=silver_key(fiche.id),
        group_name=LAYERS_GROUP,
        deps=[bronze_key(fiche.source.name)],
        description=f"**{fiche.title}** — {fiche.description}",
        owners=fiche.owners,
        tags={"role": fiche.role, "theme": fiche.theme, "layer": "silver"},
        op_tags=k8s_op_tags(LAYER_CONTAINER),
        kinds={"delta", fiche.kind},
        partitions_def=tiles if fiche.tiled else None,
        # The body lands every tile of the run's partition range (`_tiles`).
        backfill_policy=dg.BackfillPolicy.multi_run(LAYER_TILES_PER_RUN) if fiche.tiled else None,
        required_resource_keys={"lakehouse"},
        metadata={"concept": fiche.id, "role": fiche.role, "kind": fiche.kind},
        check_specs=criteria_check_specs(
            fiche, silver_key(fiche.id), tiles if fiche.tiled else None
        ),
    )
    def _layer(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        scope = Scope(_tiles(context), context.run.run_id, context.log.info, audit=True)
        # Write, audit, publish: what lands is staged, checked as it would be published, and
        # becomes the current territory only when no blocking check fails.
        landing = kind.land(store, fiche, scope)
        outcomes = evaluate(fiche, observe(store, fiche, scope.tiles, rows=landing.rows))
        refused = blocking_failures(fiche, outcomes)
        if refused:
            kind.hold(store, fiche, landing, refused)
            context.log.warning(f"{fiche.id}: kept staged, not published: {'; '.join(refused)}")
        else:
            kind.publish(store, fiche, landing)
        return dg.MaterializeResult(
            metadata={**landing_metadata(landing), "refused": dg.MetadataValue.json(refused)},
            check_results=criteria_check_results(fiche, outcomes),
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
        geo = write_gold(store, fiche.id, rows)
        column = geo["columns"]["geometry"]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows.num_rows,
                "dagster/uri": dg.MetadataValue.path(store.uri(path)),
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
        assets += [build_layer_asset(f, tiles) for f in fiches]
    assets += [build_gold_asset(f) for f in fiches if publishes_gold(f)]
    return assets
