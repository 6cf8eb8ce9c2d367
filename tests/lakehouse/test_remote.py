"""The lakehouse on a real S3 server (SeaweedFS): files put and fetched, listings, deletes,
DuckDB reading `s3://`, and concurrent writers of one Delta table."""

from __future__ import annotations

import multiprocessing
import os

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from jnft.lakehouse.database import load_extensions
from jnft.lakehouse.remote import RemoteError, check_url, duckdb_secret
from jnft.lakehouse.store import Lakehouse
from jnft.publish.floodmaps import replace_rows


def test_urls_other_than_s3_are_refused_with_the_form_to_use():
    assert check_url("s3://bucket/prefix/") == "s3://bucket/prefix"
    for url in ("gs://bucket/x", "s3://", "https://host/x"):
        with pytest.raises(RemoteError, match="s3://bucket/prefix"):
            check_url(url)


def test_files_travel_through_the_bucket_and_are_fetched_only_when_changed(s3, tmp_path):
    url = f"s3://{s3['JNFT_TEST_BUCKET']}/travel"
    writer = Lakehouse.at(tmp_path / "writer", url)
    path = writer.root / "gold" / "bati.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"first")
    writer.publish(path)
    assert writer.uri(path) == f"{url}/gold/bati.parquet"

    reader = Lakehouse.at(tmp_path / "reader", url)
    copy = reader.file("gold/bati.parquet")
    assert copy == reader.root / "gold" / "bati.parquet"
    assert copy.read_bytes() == b"first"
    stamp = copy.stat().st_mtime_ns
    assert reader.file("gold/bati.parquet").stat().st_mtime_ns == stamp  # unchanged: kept

    path.write_bytes(b"second")
    writer.publish(path)
    assert reader.file("gold/bati.parquet").read_bytes() == b"second"
    assert reader.local(writer.uri(path)) == copy

    with pytest.raises(FileNotFoundError, match=f"{url}/gold/absent.parquet"):
        reader.file("gold/absent.parquet")
    assert not list(tmp_path.glob("**/*.fetching"))


def test_folders_are_mirrored_listed_and_removed(s3, tmp_path):
    store = Lakehouse.at(tmp_path / "lake", f"s3://{s3['JNFT_TEST_BUCKET']}/folders")
    catalog = store.root / "catalog"
    for name in ("catalog.json", "bati/collection.json", "bati/items/a.json", "old.json"):
        (catalog / name).parent.mkdir(parents=True, exist_ok=True)
        (catalog / name).write_text(name)
    store.publish(catalog)
    (catalog / "old.json").unlink()
    store.publish(catalog)  # a key the folder no longer has is deleted
    listed = sorted(p.relative_to(catalog).as_posix() for p in store.listing(catalog, "**/*"))
    assert listed == ["bati/collection.json", "bati/items/a.json", "catalog.json"]
    top = sorted(p.name for p in store.listing(catalog, "*.json"))
    assert top == ["catalog.json"]

    store.remove(catalog / "catalog.json")
    assert not store.exists(catalog / "catalog.json")
    assert not (catalog / "catalog.json").exists()


def test_duckdb_reads_the_bucket_with_the_environment_s_credentials(s3, tmp_path):
    store = Lakehouse.at(tmp_path / "lake", f"s3://{s3['JNFT_TEST_BUCKET']}/duck")
    path = store.root / "gold" / "t.parquet"
    path.parent.mkdir(parents=True)
    duckdb.sql("COPY (SELECT range AS n FROM range(5)) TO '" + str(path) + "'")
    store.publish(path)
    con = load_extensions(duckdb.connect())
    assert con.sql(f"SELECT sum(n) FROM read_parquet('{store.uri(path)}')").fetchone() == (10,)


def test_no_secret_without_credentials():
    con = duckdb.connect()
    duckdb_secret(con, {})
    assert con.sql("SELECT count(*) FROM duckdb_secrets()").fetchone() == (0,)


SCHEMA = pa.schema(
    [("scenario", pa.string()), ("tile", pa.string()), ("writer", pa.int32()), ("n", pa.int64())]
)
WRITERS, COMMITS = 4, 5


def _write_tile(uri: str, writer: int, environ: dict[str, str]) -> None:
    os.environ.update(environ)
    for commit in range(COMMITS):
        rows = pa.table(
            {"scenario": ["q100"], "tile": [f"t{writer}"], "writer": [writer], "n": [commit]},
            schema=SCHEMA,
        )
        replace_rows(uri, rows, SCHEMA, "q100", f"t{writer}")


def test_concurrent_writers_of_different_tiles_lose_no_commit(s3, tmp_path):
    uri = f"s3://{s3['JNFT_TEST_BUCKET']}/concurrent/exposure"
    spawn = multiprocessing.get_context("spawn")
    writers = [spawn.Process(target=_write_tile, args=(uri, w, s3)) for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    assert [p.exitcode for p in writers] == [0] * WRITERS
    table = DeltaTable(uri)
    rows = table.to_pyarrow_table().sort_by("tile").to_pylist()
    # Each tile holds its writer's last commit: no overwrite lost another tile's rows.
    assert rows == [
        {"scenario": "q100", "tile": f"t{w}", "writer": w, "n": COMMITS - 1} for w in range(WRITERS)
    ]
    operations = [h.get("operation") for h in table.history()]
    assert len(operations) == WRITERS * COMMITS + 1  # every write committed, and the creation


def test_only_folders_written_whole_are_published_whole(s3, tmp_path):
    """Publishing a folder deletes the objects it lacks: never one holding what no working
    copy mirrors (the Delta tables are only in the bucket)."""
    store = Lakehouse.at(tmp_path / "lake", f"s3://{s3['JNFT_TEST_BUCKET']}/guarded")
    for folder in (store.root, store.root / "silver", store.root / "gold"):
        folder.mkdir(parents=True, exist_ok=True)
        with pytest.raises(ValueError, match="published whole"):
            store.publish(folder)
    screening = store.root / "gold" / "screening"
    screening.mkdir()
    (screening / "hand.vrt").write_text("<VRTDataset/>")
    assert store.publish(screening) == screening
    assert store.exists(screening / "hand.vrt")
