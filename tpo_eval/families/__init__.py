"""Task families: the code side of benchmarks (the YAML side lives in ``benchmarks/``)."""
