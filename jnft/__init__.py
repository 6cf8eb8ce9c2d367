"""jnft: the digital twin of France and its territories, as a geo lakehouse."""

__version__ = "0.1.0"
