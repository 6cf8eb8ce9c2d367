"""Real services the tests and benchmarks start on this machine (and stop): no mocks."""
