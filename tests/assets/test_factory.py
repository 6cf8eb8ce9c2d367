import dagster as dg

from jnft.assets.factory import build_concept_assets, gold_key, silver_key
from jnft.kinds import KINDS
from jnft.orchestration.partitions import tiles_partitions
from jnft.orchestration.resources import LakehouseResource
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


def test_a_delivery_failing_a_blocking_check_stays_staged(small_sources, tmp_path):
    """Write, audit, publish: a new vintage that changes buildings but puts three outside the
    extent (C6, blocking) is written, audited and held — the territory keeps the published
    vintage — until a corrected delivery of the same vintage publishes."""
    import shutil

    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from jnft.kinds import kind_of
    from jnft.orchestration.partitions import register_tiles
    from jnft.orchestration.resources import LakehouseResource
    from tests.fixtures.broken_layers import NEXT_VINTAGE_DIR, write_broken

    sources = tmp_path / "sources"
    shutil.copytree(small_sources / "bdtopo", sources / "bdtopo")
    fiche = load_fiche(CONCEPTS_DIR / "batiment.yaml")
    instance = dg.DagsterInstance.ephemeral()
    register_tiles(instance, ["0390_6550"])
    resource = LakehouseResource(root=str(tmp_path / "lake"), sources=str(sources))
    store = resource.store()

    def materialize() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            build_concept_assets([fiche], tiles_partitions),
            selection=[dg.AssetKey(["bronze", "bdtopo"]), silver_key("batiment")],
            partition_key="0390_6550",
            instance=instance,
            resources={"lakehouse": resource},
            raise_on_error=False,
        )

    def usages() -> dict[str, str]:
        rows = kind_of(fiche).current(store, fiche)
        return dict(zip(rows["feature_id"].to_pylist(), rows["usage_1"].to_pylist(), strict=True))

    materialize()
    published = usages()
    write_broken(small_sources, "outside_extent_and_changes", sources, NEXT_VINTAGE_DIR)
    result = materialize()
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["c06_extent"] is False
    assert usages() == published  # held: the territory did not move
    staged = DeltaTable(store.table_uri("batiment", "staged")).to_pyarrow_table()
    assert staged.num_rows == 1 and "c06_extent" in staged["reasons"][0].as_py()
    assert pc.all(pc.equal(staged["tile"], "0390_6550")).as_py()

    write_broken(small_sources, "usage_changes", sources, NEXT_VINTAGE_DIR)  # corrected
    result = materialize()
    assert all(
        e.passed for e in result.get_asset_check_evaluations() if e.check_name != "c03_frequency"
    )
    changed = {k for k, v in usages().items() if published.get(k) != v}
    assert len(changed) == 10  # the corrected vintage is the territory now


def test_a_glob_matching_nothing_names_the_fiche_to_fix(tmp_path):
    fiche = load_fiche(CONCEPTS_DIR / "batiment.yaml")
    resource = LakehouseResource(root=str(tmp_path / "lake"), sources=str(tmp_path / "none"))
    result = dg.materialize(
        build_concept_assets([fiche], tiles_partitions),
        selection=[dg.AssetKey(["bronze", "bdtopo"])],
        resources={"lakehouse": resource},
        raise_on_error=False,
    )
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert "no file matches" in message and "fix `source.pattern` of batiment.yaml" in message
