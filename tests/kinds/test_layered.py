from deltalake import DeltaTable

from jnft.formats.geoparquet import write_geoparquet
from jnft.kinds import Scope, kind_of
from jnft.quality.checks import evaluate
from jnft.quality.observe import observe
from jnft.tiles import TARGET_CRS
from tests.quality.test_broken_layers import BATIMENT
from tests.quality.test_observe import lake


def restricted(fiche):
    licence = fiche.criteria.c05_licence.model_copy(update={"licence": "restricted"})
    criteria = fiche.criteria.model_copy(update={"c05_licence": licence})
    return fiche.model_copy(update={"criteria": criteria})


def test_a_concept_turned_restricted_loses_its_gold_file_in_the_same_run(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    kind = kind_of(BATIMENT)
    write_geoparquet(kind.current(store, BATIMENT), store.gold_path("batiment"), TARGET_CRS)
    secret = restricted(BATIMENT)
    assert not evaluate(secret, observe(store, secret, None))["c05_licence"].passed  # leaked
    kind.land(store, secret, Scope(None, "run"))
    assert not store.gold_path("batiment").exists()
    assert evaluate(secret, observe(store, secret, None))["c05_licence"].passed
    kind.land(store, BATIMENT, Scope(None, "run"))  # public again: the gold asset writes it
    assert not store.gold_path("batiment").exists()


def test_had_rows_looks_at_the_history_of_the_tiles(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    kind = kind_of(BATIMENT)
    assert kind.had_rows(store, BATIMENT, ["0390_6550"])
    assert not kind.had_rows(store, BATIMENT, ["0000_0000"])


def test_a_run_that_changes_nothing_commits_nothing(small_sources, tmp_path):
    from tests.fixtures.broken_layers import write_broken

    sources = write_broken(small_sources, "outside_extent", tmp_path / "sources")
    store = lake(sources, tmp_path, BATIMENT)  # with rows in quarantine
    tables = ("versions", "closures", "commits", "quarantine", "merges")

    def versions() -> dict[str, int]:
        return {t: DeltaTable(store.table_uri("batiment", t)).version() for t in tables}

    before = versions()
    kind_of(BATIMENT).land(store, BATIMENT, Scope(None, "rerun"))
    assert versions() == before
