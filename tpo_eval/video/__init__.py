"""Video input: frame-index selection (pure) and decoding (the only place that imports decord/av)."""
