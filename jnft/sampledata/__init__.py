"""Generator of the embedded sample territory, written in the formats of the real French sources."""
