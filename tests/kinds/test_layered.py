import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from deltalake import DeltaTable

from jnft.formats import raster
from jnft.formats.geoparquet import write_geoparquet
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.checks import evaluate
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import observe
from jnft.tiles import TARGET_CRS
from tests.factories import CONCEPTS_DIR
from tests.kinds.test_pointcloud import deliver
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


LAND_AND_PUBLISH = """
import sys
from pathlib import Path
from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.fiche import load_fiche
fiche, sources, store = load_fiche(Path(sys.argv[1])), Path(sys.argv[2]), Lakehouse.at(sys.argv[3])
source, kind = fiche.source, kind_of(fiche)
land_files(store, source.name, sources, source.pattern, source.vintage_pattern)
kind.publish(store, fiche, kind.land(store, fiche, Scope(None, sys.argv[4], audit=True)))
"""


def first_vintage_then_the_next(concept: str, small_sources, sources):
    """Sources holding one vintage of the concept, and a function delivering the next."""
    if concept == "batiment":
        shutil.copytree(small_sources / "bdtopo", sources / "bdtopo")
        later = max((sources / "bdtopo").iterdir())
        aside = shutil.move(later, sources.parent / "aside")
        return lambda: shutil.move(aside, later)
    if concept == "mnt":
        shutil.copytree(small_sources / "rge_alti", sources / "rge_alti")

        def lifted() -> None:
            first = next((sources / "rge_alti").iterdir())
            later = shutil.copytree(first, first.with_name(first.name[:-10] + "2026-01-15"))
            for grid in later.glob("*.asc"):
                with rasterio.open(grid) as src:
                    z = src.read(1)
                    raster.write_ascii_grid(
                        np.where(z == src.nodata, z, z + 1), src.transform, grid, nodata=src.nodata
                    )

        return lifted
    deliver(sources, "2024-06-30", 0.0)
    return lambda: deliver(sources, "2025-06-30", 1.0)


COMMIT_POINTS = ("merge.begun", "closures.appended", "versions.appended", "merge.published")


@pytest.mark.parametrize("kill_at", COMMIT_POINTS)
@pytest.mark.parametrize("concept", ["batiment", "mnt", "nuage_lidar"])
def test_a_landing_killed_at_any_commit_point_leaves_before_or_after(
    small_sources, tmp_path, concept, kill_at
):
    """A new vintage of a vector, raster and point-cloud concept, its writer killed (os._exit,
    as SIGKILL) after each commit of its write–audit–publish: the current layer is the one
    before or the one after, never a mix, and a re-run publishes each feature exactly once."""
    fiche_path = CONCEPTS_DIR / f"{concept}.yaml"
    fiche = load_fiche(fiche_path)
    sources, lake_dir = tmp_path / "sources", tmp_path / "lake"
    next_vintage = first_vintage_then_the_next(concept, small_sources, sources)
    root = Path(__file__).resolve().parents[2]

    def run(run_id: str, kill: str | None = None) -> int:
        env = {k: v for k, v in os.environ.items() if k != "JNFT_KILL_AT"}
        env.update({"JNFT_KILL_AT": kill} if kill else {})
        command = [sys.executable, "-c", LAND_AND_PUBLISH, fiche_path, sources, lake_dir, run_id]
        return subprocess.run(command, env=env, cwd=root, check=False).returncode

    def state() -> set[tuple[str, int]]:
        rows = kind_of(fiche).current(Lakehouse.at(lake_dir), fiche)
        pairs = list(zip(rows["feature_id"].to_pylist(), rows["row_hash"].to_pylist(), strict=True))
        assert len({f for f, _ in pairs}) == len(pairs), "a feature published twice"
        return set(pairs)

    assert run("first") == 0
    before = state()
    next_vintage()
    assert run("killed", kill_at) == 137
    killed = state()
    assert run("rerun") == 0
    after = state()
    assert after != before and killed in (before, after)
    assert killed == (after if kill_at == "merge.published" else before)
