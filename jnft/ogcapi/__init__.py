"""OGC APIs over the lakehouse (pygeoapi): Features for the public vector concepts and the
series' stations, current or as of a date, and Processes for flood scenarios.
`ogc_app(settings, url)` is the ASGI app to serve or mount."""

from jnft.ogcapi.app import ogc_app, pygeoapi_config

__all__ = ["ogc_app", "pygeoapi_config"]
