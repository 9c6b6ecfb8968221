"""``tpo-eval ls`` and ``tpo-eval validate``."""

from __future__ import annotations

import click


@click.command()
def ls() -> None:
    """List benchmarks, task families, model adapters, extractors and frame samplers."""
    from ..config import benchmark_paths
    from ..registries import EXTRACTORS, FAMILIES, MODELS, SAMPLERS

    click.echo("benchmarks:")
    for name, path in benchmark_paths().items():
        click.echo(f"  {name:<22} {path}")
    for title, reg in (
        ("task families", FAMILIES),
        ("models", MODELS),
        ("extractors", EXTRACTORS),
        ("samplers", SAMPLERS),
    ):
        click.echo(f"{title}:")
        for n in reg.names():
            click.echo(f"  {n:<22} {reg.help(n)}")


@click.command()
@click.argument("benchmarks", nargs=-1)
def validate(benchmarks: tuple[str, ...]) -> None:
    """Validate BENCHMARKS (default: every YAML under benchmarks/). Lists every problem; exit 1 if any."""
    from ..config import ConfigError, benchmark_paths, load_benchmark

    names = benchmarks or tuple(benchmark_paths())
    bad = 0
    for n in names:
        try:
            cfg = load_benchmark(n)
            click.echo(f"ok    {cfg.name} ({cfg.family}, {len(cfg.tasks)} task(s), version {cfg.version})")
        except ConfigError as e:
            bad += 1
            click.echo(f"FAIL  {e}")
    raise SystemExit(1 if bad else 0)
