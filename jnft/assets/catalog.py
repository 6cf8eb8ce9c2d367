"""The STAC catalog of the lakehouse, regenerated downstream of the layers."""

from collections.abc import Sequence

import dagster as dg

from jnft.assets.factory import DERIVED_GROUP, published_layer_deps
from jnft.publish.catalog import build_catalog
from jnft.quality.fiche import Fiche


def build_catalog_asset(fiches: Sequence[Fiche]) -> dg.AssetsDefinition:
    @dg.asset(
        key="stac_catalog",
        group_name=DERIVED_GROUP,
        deps=published_layer_deps(fiches),
        description="Static STAC catalog (`catalog/`): a collection per public concept with its "
        "criteria, an item per tile and vintage; validated offline.",
        owners=["team:geodata"],
        tags={"layer": "gold"},
        kinds={"stac"},
        required_resource_keys={"lakehouse"},
    )
    def stac_catalog(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        root = build_catalog(store, list(fiches))
        documents = list(root.parent.rglob("*.json"))
        return dg.MaterializeResult(
            metadata={
                "dagster/uri": dg.MetadataValue.path(str(root)),
                "documents": len(documents),
                "collections": dg.MetadataValue.json(
                    sorted(p.parent.name for p in documents if p.name == "collection.json")
                ),
            }
        )

    return stac_catalog
