"""Vector ingestion and history merge at scale.

1. Ingest N building polygons from a GeoPackage into the Delta layer (read in batches, repair,
   reproject when needed, ids, bbox, tile, row hash, first merge), against
   `geopandas.read_file(engine="pyogrio").to_parquet()` on the same file, for each N of
   `--rows` (default 1 M and 4 M): the peak memory of ours must stay flat in N (within 10 %)
   and at most the baseline's.
2. Merge a second vintage with 5 % of the rows changed into the history of the first N,
   against rewriting the table (read it whole, close and append in memory, overwrite).

Run: `python bench/ingest_vector.py [--rows N [N ...]] [--repeats R]`; writes
bench/results/ingest_vector.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

V1, V2 = dt.date(2023, 3, 15), dt.date(2025, 3, 15)
COLUMNS = {
    "cleabs": "string",
    "usage_1": "string",
    "hauteur": "float64",
    "nombre_de_logements": "int32",
    "date_creation": "date",
}


def synthetic_buildings(n: int, seed: int = 0, start: int = 0) -> pa.Table:
    """n rectangles spread over 10 × 10 tiles of 10 km, BD TOPO-like attributes; ids from
    `start`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(300_000, 400_000, n)
    y = rng.uniform(6_500_000, 6_600_000, n)
    w, h = rng.uniform(6, 20, n), rng.uniform(6, 20, n)
    boxes = shapely.multipolygons(
        shapely.get_parts(shapely.box(x, y, x + w, y + h)), indices=np.arange(n)
    )
    usages = np.array(["Résidentiel", "Commercial et services", "Industriel", "Agricole"])
    return pa.table(
        {
            "cleabs": pa.array([f"BATIMENT{i:016d}" for i in range(start, start + n)]),
            "usage_1": pa.array(usages[rng.integers(0, 4, n)]),
            "hauteur": pa.array(np.round(rng.uniform(3, 30, n), 1)),
            "nombre_de_logements": pa.array(rng.integers(0, 20, n).astype(np.int32)),
            "date_creation": pa.array(
                (
                    np.datetime64("2000-01-01") + rng.integers(0, 8000, n).astype("timedelta64[D]")
                ).astype("datetime64[D]")
            ),
            "geometry": pa.array(list(shapely.to_wkb(boxes)), pa.binary()),
        }
    )


def write_gpkg(table: pa.Table, path: Path, append: bool = False) -> None:
    pyogrio.write_arrow(
        table,
        path,
        layer="batiment",
        driver="GPKG",
        geometry_name="geometry",
        geometry_type="MultiPolygon",
        crs="EPSG:2154",
        append=append,
    )


def write_buildings(n: int, path: Path, chunk: int = 1_000_000) -> None:
    """n buildings written chunk by chunk (the generator's memory stays that of a chunk)."""
    for start in range(0, n, chunk):
        rows = synthetic_buildings(min(chunk, n - start), seed=start, start=start)
        write_gpkg(rows, path, append=start > 0)


def prepare_ours_ingest(gpkg: Path, lake: Path) -> tuple:
    from jnft.ingest.bronze import BronzeEntry
    from jnft.ingest.vector import LayerSpec, VectorSource
    from jnft.lakehouse.store import Lakehouse

    # As a fiche declares it: geometry type (C1) and extent (C6) are checked on every row.
    spec = LayerSpec(
        columns=COLUMNS,
        rename={},
        id_column="cleabs",
        identity_columns=[],
        geometry_type="MultiPolygon",
        extent=(300_000, 6_500_000, 400_020, 6_600_020),
        extent_tolerance=1.0,
    )
    entry = BronzeEntry(
        "0" * 64, gpkg.name, gpkg.name, str(gpkg), V1.isoformat(), gpkg.stat().st_size, ""
    )
    return Lakehouse.at(lake), VectorSource("GPKG", "batiment", None, spec), entry


def ours_ingest(store, source, entry) -> None:
    from jnft.ingest.vector import ingest_vector

    ingest_vector(store, "batiment", source, [entry], tiles=None, run_id="bench")


def prepare_baseline_ingest(gpkg: Path, out: Path) -> tuple:
    import geopandas  # noqa: F401  (imported before timing)

    return gpkg, out


def baseline_ingest(gpkg: Path, out: Path) -> None:
    import geopandas

    geopandas.read_file(gpkg, engine="pyogrio").to_parquet(out)


def prepare_ours_merge(lake: Path, vintage_rows: Path) -> tuple:
    from jnft.lakehouse.store import Lakehouse

    store = Lakehouse.at(lake)
    return (
        store.table_uri("batiment", "versions"),
        store.table_uri("batiment", "closures"),
        pq.read_table(vintage_rows),
    )


def ours_merge(versions_uri: str, closures_uri: str, incoming: pa.Table) -> None:
    from jnft.ingest.scd2 import merge_vintage

    merge_vintage(versions_uri, closures_uri, incoming, V2, run_id="bench")


def prepare_baseline_merge(table_uri: str, vintage_rows: Path) -> tuple:
    import polars as pl

    return table_uri, pl.from_arrow(pq.read_table(vintage_rows))


def baseline_merge(table_uri: str, incoming) -> None:
    """Classic SCD2 with `valid_to` in the table: read all, close and append, overwrite."""
    import polars as pl
    from deltalake import DeltaTable, write_deltalake

    from jnft.lakehouse.history import vintage_timestamp

    existing = pl.from_arrow(DeltaTable(table_uri).to_pyarrow_table())
    ts = vintage_timestamp(V2)
    open_rows = existing.filter(pl.col("valid_to").is_null())
    joined = open_rows.select("feature_id", "row_hash").join(
        incoming.select("feature_id", pl.col("row_hash").alias("new_hash")),
        on="feature_id",
        how="full",
        coalesce=True,
    )
    to_close = joined.filter(
        pl.col("new_hash").is_null()
        | (pl.col("row_hash").is_not_null() & (pl.col("row_hash") != pl.col("new_hash")))
    )["feature_id"]
    to_open = joined.filter(
        pl.col("row_hash").is_null()
        | (pl.col("new_hash").is_not_null() & (pl.col("row_hash") != pl.col("new_hash")))
    )["feature_id"]
    closed = existing.with_columns(
        pl.when(pl.col("valid_to").is_null() & pl.col("feature_id").is_in(to_close.implode()))
        .then(pl.lit(ts))
        .otherwise(pl.col("valid_to"))
        .alias("valid_to")
    )
    new_rows = incoming.filter(pl.col("feature_id").is_in(to_open.implode())).with_columns(
        pl.lit(V2).alias("vintage"),
        pl.lit(ts).dt.cast_time_unit("us").alias("valid_from"),
        pl.lit("bench").alias("run_id"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("valid_to"),
    )
    result = pl.concat([closed, new_rows.select(closed.columns)], how="vertical_relaxed")
    write_deltalake(table_uri, result.to_arrow(), mode="overwrite", partition_by=["tile"])


def second_vintage(lake: Path, out: Path, share: float, seed: int = 1) -> int:
    """The current rows with `share` of them changed (height or footprint), as prepared rows."""
    from jnft.ingest.hashing import row_hash
    from jnft.lakehouse.history import current
    from jnft.lakehouse.store import Lakehouse

    store = Lakehouse.at(lake)
    rows = current(store.table_uri("batiment", "versions"), store.table_uri("batiment", "closures"))
    rows = rows.drop_columns(["vintage", "valid_from", "run_id", "row_hash"])
    rng = np.random.default_rng(seed)
    changed = rng.random(rows.num_rows) < share
    height = rows["hauteur"].to_numpy().copy()
    height[changed] += 1.5
    rows = rows.set_column(rows.schema.get_field_index("hauteur"), "hauteur", pa.array(height))
    hashed = [
        c
        for c in rows.column_names
        if c
        not in (
            "feature_id",
            "tile",
            "bbox_xmin",
            "bbox_ymin",
            "bbox_xmax",
            "bbox_ymax",
            "source_sha256",
        )
    ]
    rows = rows.append_column("row_hash", row_hash(rows, hashed))
    pq.write_table(rows, out)
    return int(changed.sum())


def _ingest_at(rows: int, work: Path, repeats: int) -> tuple[Path, dict]:
    gpkg = work / f"batiment-{rows}.gpkg"
    print(f"writing {rows:,} buildings to {gpkg} ...", flush=True)
    write_buildings(rows, gpkg)
    print(f"ingest of {rows:,} rows: ours = GeoPackage -> Delta layer; baseline = geopandas")
    lake = work / "lake"
    measured = harness.compare(
        (prepare_ours_ingest, ours_ingest, (gpkg, lake)),
        (prepare_baseline_ingest, baseline_ingest, (gpkg, work / "baseline.parquet")),
        repeats,
        setup=lambda: shutil.rmtree(lake, ignore_errors=True),
    )
    return gpkg, measured


def _merge_at(gpkg: Path, work: Path, change: float, repeats: int) -> tuple[dict, int]:
    lake = work / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    ours_ingest(*prepare_ours_ingest(gpkg, lake))
    changed = second_vintage(lake, work / "v2.parquet", change)
    base_lake = work / "base_lake"
    shutil.copytree(lake, base_lake)
    classic = work / "classic"

    import polars as pl
    from deltalake import DeltaTable, write_deltalake

    versions = pl.from_arrow(DeltaTable(str(lake / "silver/batiment/versions")).to_pyarrow_table())
    write_deltalake(
        str(classic),
        versions.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("valid_to")).to_arrow(),
        partition_by=["tile"],
    )
    del versions
    classic_base = work / "classic_base"
    shutil.copytree(classic, classic_base)

    def reset() -> None:
        for target, base in ((lake, base_lake), (classic, classic_base)):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(base, target)

    measured = harness.compare(
        (prepare_ours_merge, ours_merge, (lake, work / "v2.parquet")),
        (prepare_baseline_merge, baseline_merge, (str(classic), work / "v2.parquet")),
        repeats,
        setup=reset,
    )
    return measured, changed


def _report(
    name: str, metric: str, baseline: str, measured: dict, rows: int, params: dict, **extra
) -> dict:
    result = harness.record(
        name, f"{metric} throughput", "rows/s", measured, (rows, rows), baseline, params, **extra
    )
    print(
        f"{metric} ({rows:,} rows): ours {result['ours']:,.0f} rows/s vs baseline "
        f"{result['baseline']:,.0f} rows/s -> ratio {result['ratio']:.2f}; peak RSS ours "
        f"{result['peak_rss_mb']:.0f} MB, baseline {result['baseline_peak_rss_mb']:.0f} MB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--change", type=float, default=0.05)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jnft-bench-"))
    results = []
    try:
        smallest = None
        for rows in sorted(args.rows):
            gpkg, ingest = _ingest_at(rows, work, args.repeats)
            if smallest is None:
                print(f"merge of a vintage with {args.change:.0%} changes into {rows:,} rows")
                merge, changed = _merge_at(gpkg, work, args.change, args.repeats)
                smallest = (rows, ingest["ours"]["peak_rss_mb"], merge, changed)
            gpkg.unlink()
            # Flat in the file size: the peak against that of the smallest file, same run.
            flat = ingest["ours"]["peak_rss_mb"] / smallest[1]
            results.append(
                _report(
                    f"ingest_vector.ingest.{rows}",
                    "ingest",
                    "geopandas.read_file(engine='pyogrio').to_parquet()",
                    ingest,
                    rows,
                    {"rows": rows, "format": "GPKG"},
                    peak_vs_smallest_file=round(flat, 3),
                )
            )
            print(f"  peak of ours at {rows:,} rows / at {smallest[0]:,} rows: {flat:.3f}")
        assert smallest is not None
        rows, _, merge, changed = smallest
        results.append(
            _report(
                "ingest_vector.scd2_merge",
                "scd2_merge",
                "full table rewrite (read all, close in memory, overwrite)",
                merge,
                rows,
                {"rows": rows, "changed": changed, "change_share": args.change},
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"written {harness.write('ingest_vector', results)}")


if __name__ == "__main__":
    main()
