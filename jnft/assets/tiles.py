"""Vector tiles of the published layers: a PMTiles archive downstream of each public vector
concept's gold snapshot, for the viewer and any PMTiles reader."""

from collections.abc import Sequence

import dagster as dg

from jnft.assets.factory import DERIVED_GROUP, gold_key, publishes_gold
from jnft.publish.pmtiles import MAX_ZOOM, MIN_ZOOM, pmtiles_path, write_pmtiles
from jnft.quality.fiche import Fiche


def tiles_key(concept: str) -> dg.AssetKey:
    """tiles/<concept>: the asset of the concept's PMTiles archive."""
    return dg.AssetKey(["tiles", concept])


def build_tiles_asset(fiche: Fiche) -> dg.AssetsDefinition:
    """The concept's current features as gold/<concept>.pmtiles."""

    @dg.asset(
        key=tiles_key(fiche.id),
        group_name=DERIVED_GROUP,
        deps=[gold_key(fiche.id)],
        description=f"Current {fiche.title.lower()} as vector tiles (zooms {MIN_ZOOM}–"
        f"{MAX_ZOOM}) in one PMTiles archive (gold/{fiche.id}.pmtiles), made by tippecanoe "
        "from the gold GeoParquet; the viewer reads it by HTTP range requests.",
        owners=fiche.owners,
        tags={"role": fiche.role, "theme": fiche.theme, "layer": "gold"},
        kinds={"pmtiles"},
        required_resource_keys={"lakehouse"},
    )
    def _tiles(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        archive = write_pmtiles(store, fiche)
        if archive is None:
            context.log.info(f"{fiche.id}: no feature, no archive")
            return dg.MaterializeResult(metadata={"features": 0})
        return dg.MaterializeResult(
            metadata={
                "dagster/uri": dg.MetadataValue.path(store.uri(pmtiles_path(store, fiche.id))),
                **archive,
            }
        )

    return _tiles


def build_tiles_assets(fiches: Sequence[Fiche]) -> list[dg.AssetsDefinition]:
    """A PMTiles asset per concept with a gold snapshot (public vector concepts only)."""
    return [build_tiles_asset(f) for f in fiches if publishes_gold(f)]
