"""The small sample territory materialized once for the viewer's tests, and the viewer
serving it on a loopback port."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from jnft.settings import Settings
from jnft.viewer import create_app
from tests.factories import SETTINGS, materialize_sample


@pytest.fixture(scope="package")
def viewer_settings(small_sources, tmp_path_factory) -> Settings:
    """Settings of this checkout's project over a freshly materialized small territory
    (package scope: the API and browser tests share one materialization)."""
    root = tmp_path_factory.mktemp("lake")
    _, results = materialize_sample(small_sources, root)
    assert all(r.success for r in results)
    return dataclasses.replace(SETTINGS, lakehouse=root, sources=small_sources)


@pytest.fixture(scope="package")
def viewer_url(viewer_settings) -> Iterator[str]:
    """The viewer served by uvicorn in a thread on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(viewer_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the viewer did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclasses.dataclass(frozen=True)
class Reply:
    status_code: int
    content: bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.content)


@dataclasses.dataclass(frozen=True)
class Client:
    """GET requests to the served viewer (the standard library's client: no extra package)."""

    base: str

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), dict(error.headers))


def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    """(status, body) of a GET sent straight to an ASGI app."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body
