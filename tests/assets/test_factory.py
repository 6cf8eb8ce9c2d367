import dagster as dg

from jnft.assets.factory import build_concept_assets, gold_key, silver_key
from jnft.kinds import KINDS
from jnft.orchestration.partitions import tiles_partitions
from jnft.quality.fiche import load_fiche, load_fiches
from tests.factories import CONCEPTS_DIR


def keys(assets):
    return {k for a in assets for k in a.keys}


def test_one_source_asset_per_delivery_and_a_layer_per_fiche():
    fiches = load_fiches(CONCEPTS_DIR)
    assets = build_concept_assets(fiches, tiles_partitions)
    sources = {k for k in keys(assets) if k.path[0] == "bronze"}
    assert sources == {dg.AssetKey(["bronze", f.source.name]) for f in fiches}
    shared = [f for f in fiches if f.source.name == "bdtopo"]
    assert len(shared) > 1 and len(sources) < len(fiches)  # the BD TOPO layers share one
    assert {silver_key(f.id) for f in fiches} <= keys(assets)


def test_every_kind_gets_one_layer_asset_checked_by_the_ten_criteria():
    fiches = load_fiches(CONCEPTS_DIR)
    assets = {k: a for a in build_concept_assets(fiches, tiles_partitions) for k in a.keys}
    assert {f.kind for f in fiches} == set(KINDS)  # the sample exercises every kind
    for fiche in fiches:
        layer = assets[silver_key(fiche.id)]
        assert len(list(layer.check_specs)) == 10
        assert (layer.partitions_def is not None) == fiche.tiled


def test_a_restricted_concept_gets_no_public_gold_file():
    fiche = load_fiche(CONCEPTS_DIR / "batiment.yaml")
    licence = fiche.criteria.c05_licence.model_copy(update={"licence": "restricted"})
    restricted = fiche.model_copy(
        update={"criteria": fiche.criteria.model_copy(update={"c05_licence": licence})}
    )
    assert gold_key("batiment") in keys(build_concept_assets([fiche], tiles_partitions))
    assert gold_key("batiment") not in keys(build_concept_assets([restricted], tiles_partitions))
