"""The territory viewer: a web map of the lakehouse's public layers, flood maps (max depth,
max speed, arrival time) and the buildings' history, served by `jnft serve` (`serve`);
`create_app` for mounting it or testing it."""

from jnft.viewer.app import create_app, serve

__all__ = ["create_app", "serve"]
