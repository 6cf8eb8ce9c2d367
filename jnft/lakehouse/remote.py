"""The lakehouse on object storage (`s3://bucket/prefix`): how its files travel.

One way for each kind of object, chosen for what each reader and writer needs:
- Delta tables are read and written in the bucket by delta-rs itself (its S3 store commits with
  conditional writes: no rename, no locking table), and scanned by DuckDB's delta extension.
- Every other file (bronze deliveries, COGs, point-cloud products, GeoParquet, the STAC
  catalog, the DuckDB database) is written by its library to the local working copy, then put
  whole into the bucket by obstore — one PUT, so a reader sees the old object or the new one,
  never a part. Readers fetch an object into the working copy when its ETag has changed; keys
  of tiles and deliveries are immutable (vintage, content hash), so most fetches are one HEAD.
- DuckDB reads `s3://` through its httpfs extension, with a secret made from the same `AWS_*`
  variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
  `AWS_ALLOW_HTTP`) that delta-rs and obstore read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import obstore
from obstore.store import ObjectStore, from_url

SCHEMES = ("s3",)
# Beside the working copy: the ETag each local file was fetched or put with.
ETAGS = ".etags"


class RemoteError(ValueError):
    """An object-store URL or configuration that cannot be used, with the fix."""


def check_url(url: str, what: str = "lakehouse") -> str:
    """`url` without a trailing slash, or an error naming the supported form."""
    parsed = urlparse(url)
    if parsed.scheme not in SCHEMES or not parsed.netloc:
        raise RemoteError(
            f"{what}: {url!r} is not a supported object-store URL; use s3://bucket/prefix "
            "(S3 or an S3-compatible server, with AWS_ENDPOINT_URL) or a local folder"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class Remote:
    """A bucket prefix mirrored by a local working copy (`root`)."""

    url: str
    root: Path
    store: ObjectStore = field(compare=False, repr=False)

    @classmethod
    def at(cls, url: str, root: Path) -> Remote:
        url = check_url(url)
        return cls(url, root, from_url(url))

    def key(self, path: Path) -> str:
        """The object key (below the prefix) of a path of the working copy."""
        # Not resolved: a swapped folder is a symlink whose name is the key.
        return Path(os.path.abspath(path)).relative_to(self.root).as_posix()

    def uri(self, path: Path) -> str:
        return f"{self.url}/{self.key(path)}"

    def _etag_file(self, path: Path) -> Path:
        return self.root / ETAGS / self.key(path)

    def _remember(self, path: Path, etag: str | None) -> None:
        note = self._etag_file(path)
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(etag or "", encoding="utf-8")

    def put(self, path: Path) -> None:
        """Put a local file at its key; or a folder's files at theirs, its own files last (a
        catalog's root after its children), and delete the keys below it it no longer has."""
        if path.is_file():
            result = obstore.put(self.store, self.key(path), path)
            self._remember(path, result.get("e_tag"))
            return
        files = sorted(
            (p for p in path.rglob("*") if p.is_file()), key=lambda p: (p.parent == path, p)
        )
        stale = {self.key(p) for p in self.listing(path)} - {self.key(p) for p in files}
        for file in files:
            self.put(file)
        if stale:
            obstore.delete(self.store, sorted(stale))

    def head(self, path: Path) -> Mapping | None:
        try:
            return obstore.head(self.store, self.key(path))
        except FileNotFoundError:
            return None

    def fetch(self, path: Path) -> Path:
        """The local copy of `path`, fetched when missing or changed in the bucket; a file not
        (yet) in the bucket is the local one, if any."""
        meta = self.head(path)
        if meta is None:
            if path.exists():
                return path
            raise FileNotFoundError(f"{self.uri(path)} does not exist")
        note = self._etag_file(path)
        etag = meta.get("e_tag") or ""
        if path.exists() and note.exists() and note.read_text(encoding="utf-8") == etag:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.fetching")
        with open(partial, "wb") as handle:
            for chunk in obstore.get(self.store, self.key(path)):
                handle.write(chunk)
        partial.replace(path)
        self._remember(path, etag)
        return path

    def listing(self, folder: Path) -> Iterator[Path]:
        """The working-copy paths of every object below `folder`."""
        prefix = self.key(folder)
        for batch in obstore.list(self.store, prefix + "/"):
            for meta in batch:
                yield self.root / meta["path"]

    def delete(self, path: Path) -> None:
        """Delete the object at `path` and every object below it."""
        keys = [self.key(p) for p in self.listing(path)]
        if self.head(path) is not None:
            keys.append(self.key(path))
        if keys:
            obstore.delete(self.store, keys)


def duckdb_secret(con: duckdb.DuckDBPyConnection, environ: Mapping[str, str] = os.environ) -> None:
    """Let DuckDB read `s3://` with the credentials and endpoint delta-rs and obstore use."""
    if not any(environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL")):
        return
    endpoint = urlparse(environ.get("AWS_ENDPOINT_URL") or "https://s3.amazonaws.com")
    options = {
        "TYPE": "s3",
        "KEY_ID": environ.get("AWS_ACCESS_KEY_ID", ""),
        "SECRET": environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "REGION": environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "ENDPOINT": endpoint.netloc,
        "USE_SSL": "false" if endpoint.scheme == "http" else "true",
        # A custom endpoint (MinIO, SeaweedFS, Garage…) is addressed by path, not by host.
        "URL_STYLE": "path" if environ.get("AWS_ENDPOINT_URL") else "vhost",
    }
    if environ.get("AWS_SESSION_TOKEN"):
        options["SESSION_TOKEN"] = environ["AWS_SESSION_TOKEN"]
    body = ", ".join(
        f"{k} {v}" if k in ("TYPE", "USE_SSL") else f"{k} '{v.replace(chr(39), chr(39) * 2)}'"
        for k, v in options.items()
    )
    con.execute(f"CREATE OR REPLACE SECRET jnft_s3 ({body})")
