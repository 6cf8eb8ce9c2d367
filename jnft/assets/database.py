"""The DuckDB file of the lakehouse, rebuilt from `sql/*.sql` downstream of every layer."""

from collections.abc import Sequence

import dagster as dg
import duckdb

from jnft.assets.factory import DERIVED_GROUP, published_layer_deps
from jnft.assets.simulation import FLOOD_KEY
from jnft.kinds import kind_of
from jnft.lakehouse.database import build_database, connect, render_sql
from jnft.lakehouse.delta import open_table
from jnft.lakehouse.store import Lakehouse
from jnft.quality.fiche import Fiche
from jnft.settings import load_settings


def view_substitutions(store: Lakehouse, fiches: Sequence[Fiche]) -> list[dict[str, str]]:
    """Placeholders of the per-concept SQL templates, for concepts that have data."""
    subs = []
    for fiche in fiches:
        kind = kind_of(fiche)
        if kind.exists(store, fiche):
            subs += kind.views(store, fiche)
    results = {t: store.simulation_table(t) for t in ("exposure", "equipment", "maps")}
    if all(open_table(uri) is not None for uri in results.values()):
        subs.append({"kind": "simulation", "concept": "exposure", **results})
    return subs


def _row_count(con: duckdb.DuckDBPyConnection, view: str) -> int:
    row = con.execute(f'SELECT count(*) FROM "{view}"').fetchone()
    assert row is not None  # count(*) always returns a row
    return row[0]


def build_database_asset(fiches: Sequence[Fiche]) -> dg.AssetsDefinition:
    @dg.asset(
        key="lakehouse_duckdb",
        group_name=DERIVED_GROUP,
        deps=[*published_layer_deps(fiches), FLOOD_KEY],
        description="`lakehouse.duckdb`: one view per concept (current rows), `<concept>_history`"
        ", `<concept>_quarantine`, the `asof(concept, ts)` macro and the views of "
        "`sql/`, over the Delta tables. Open it with `jnft sql` or plain `duckdb`.",
        owners=["team:geodata"],
        tags={"layer": "gold"},
        kinds={"duckdb", "sql"},
        required_resource_keys={"lakehouse"},
    )
    def lakehouse_duckdb(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        subs = view_substitutions(store, fiches)
        scripts = render_sql(load_settings().sql_folders, subs, {"root": store.url})
        path = store.publish(build_database(store.duckdb_path, scripts))
        with connect(path) as con:
            views = con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
            ).fetchall()
            counts = {
                s["concept"]: _row_count(con, s["concept"]) for s in subs if s["kind"] == "history"
            }
        return dg.MaterializeResult(
            metadata={
                "dagster/uri": dg.MetadataValue.path(store.uri(path)),
                "views": dg.MetadataValue.json([v[0] for v in views]),
                "current_rows": dg.MetadataValue.json(counts),
            }
        )

    return lakehouse_duckdb
