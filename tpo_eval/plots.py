"""Figures from run directories: per-task score differences, and one moment-retrieval query (seed Figure 4).

matplotlib is driven through ``Figure`` objects on the Agg canvas (no pyplot state), so plotting works
headless and in threads. Each figure is written as PNG and PDF beside each other.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from .io import iter_jsonl, read_jsonl
from .tables.model import PaperTable, list_tables, load_table
from .tables.runs import read_results

_UP, _DOWN = "#2a9d8f", "#e76f51"  # gains and losses
_SALIENCY, _PRED, _GT = (
    "#f4a261",
    "#4c72b0",
    "#55a868",
)  # the seed's orange curve, blue prediction, green truth


class PlotInputError(ValueError):
    """Bad input for a plot (missing run, unknown id, no interval to draw): exit code 2."""


def _save(fig: Any, out: Path) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None})
    return paths


def _labels_for(benchmark: str) -> dict[str, str]:
    """Task id → the paper's abbreviation, from the first shipped table whose columns are that benchmark's
    tasks."""
    for name in list_tables():
        t = load_table(name)
        if t.benchmark == benchmark and len(t.score_columns) > 3:
            return {c.id: c.label for c in t.score_columns if c.aggregate is None}
    return {}


def task_scores(
    run: str | Path, metric: Optional[str] = None
) -> tuple[str, str, dict[str, float], Optional[float]]:
    """``(benchmark, metric, {task: score}, overall micro)`` of a run directory."""
    doc = read_results(run)
    key = metric or doc.get("primary", "")
    scores = {t: float(v[key]) for t, v in doc["tasks"].items() if key in v}
    if not scores:
        raise PlotInputError(f"{run}: no task reports {key!r} (metrics: {', '.join(doc.get('metrics', []))})")
    overall = doc["overall"].get("micro", {}).get(key)
    return doc["benchmark"], key, scores, None if overall is None else float(overall)


def row_scores(table: PaperTable, row_key: str) -> tuple[dict[str, float], Optional[float]]:
    """A published row as ``{task id: value}`` plus its aggregate, for ``plot deltas RUN --table T --row
    R``."""
    row = table.row(row_key)
    tasks = {
        c.id: row.value(c.id)
        for c in table.score_columns
        if c.aggregate is None and row.value(c.id) is not None
    }
    aggs = [row.value(c.id) for c in table.score_columns if c.aggregate is not None]
    return tasks, aggs[0] if aggs else None  # type: ignore[return-value]


def same_samples(run_a: str | Path, run_b: Optional[str | Path]) -> str:
    """ "" when A is comparable with B (another run over the same sample ids, or the full benchmark when B is
    a published row); else why not. The check is ``regress``'s (ids, sample_ids_sha256, per-task counts)."""
    from .regress_runs import RegressInputError, check_same_samples, load_run
    from .tables.runs import partial_reason

    if run_b is None:
        why = partial_reason(read_results(run_a))
        return f"{run_a} is a partial run ({why}), the published row is the full benchmark" if why else ""
    try:
        check_same_samples(load_run(run_a), load_run(run_b))
    except RegressInputError as e:
        return str(e)
    return ""


def plot_deltas(
    run_a: str | Path,
    out: str | Path,
    run_b: Optional[str | Path] = None,
    table: Optional[str] = None,
    row: Optional[str] = None,
    metric: Optional[str] = None,
    allow_different_samples: bool = False,
    names: Optional[tuple[str, str]] = None,
) -> list[Path]:
    """Bar chart of per-task A − B (points), B being another run or a published row of a paper table.
    ``names``: what the title calls A and B (default: the run folders' names, the published row's model).

    Scores over different samples are not comparable: refused (:class:`PlotInputError`), unless
    ``allow_different_samples``, which warns on stderr and says so in the figure's title."""
    bench, key, a, a_all = task_scores(run_a, metric)
    if run_b is not None:
        bench_b, _, b, b_all = task_scores(run_b, metric)
        if bench_b != bench:
            raise PlotInputError(f"cannot compare a {bench!r} run with a {bench_b!r} run")
        name_b = Path(run_b).name
    elif table and row:
        t = load_table(table)
        b, b_all = row_scores(t, row)
        name_b = f"{t.row(row).model} ({t.source.get('table', t.name)})"
    else:
        raise PlotInputError("give a second run directory, or --table NAME --row KEY for a published row")
    differ = same_samples(run_a, run_b)
    if differ and not allow_different_samples:
        raise PlotInputError(f"{differ} (pass --allow-different-samples to plot anyway)")
    if differ:
        print(f"warning: deltas over different samples: {differ}", file=sys.stderr)
    common = [t for t in a if t in b]
    if not common:
        raise PlotInputError(f"no task in common: run tasks {sorted(a)[:5]}…, other side {sorted(b)[:5]}…")
    labels = _labels_for(bench)
    deltas = [a[t] - b[t] for t in common]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6.0, 0.42 * len(common) + 2), 3.6))
    ax = fig.add_subplot()
    xs = range(len(common))
    ax.bar(xs, deltas, color=[_UP if d >= 0 else _DOWN for d in deltas])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(
        list(xs),
        [labels.get(t, t) for t in common],
        rotation=60 if not labels else 0,
        ha="center",
        fontsize=8,
    )
    ax.set_ylabel(f"Δ {key} (points)")
    name_a = Path(run_a).name
    if names:
        name_a, name_b = names
    title = f"{name_a} − {name_b} on {bench}"
    if a_all is not None and b_all is not None:
        title += f"   (overall {a_all - b_all:+.1f})"
    if differ:
        title += "\n(different sample sets: not a like-for-like comparison)"
    ax.set_title(title, fontsize=10)
    for x, d in zip(xs, deltas):
        ax.annotate(f"{d:+.1f}", (x, d), ha="center", va="bottom" if d >= 0 else "top", fontsize=6)
    ax.margins(y=0.15)
    return _save(fig, Path(out))


def _find_row(run: Path, sample_id: str) -> dict[str, Any]:
    preds = run / "predictions.jsonl"
    if not preds.is_file():
        raise PlotInputError(f"{run}: no predictions.jsonl (pass a run directory)")
    found = None
    for row in read_jsonl(preds):
        if str(row.get("id")) == sample_id:
            found = row  # last one wins, as after a resume
    if found is None:
        raise PlotInputError(f"{preds}: no row with id {sample_id!r}")
    return found


def _gt_from_annotations(path: Path, sample_id: str) -> tuple[list[list[float]], Optional[float], str]:
    """Ground-truth windows, duration and query from a moment_detr-style JSONL (qid, relevant_windows)."""
    tail = sample_id.rsplit("/", 1)[-1]
    for _, ann in iter_jsonl(path):
        if str(ann.get("qid")) in (sample_id, tail):
            return ann.get("relevant_windows") or [], ann.get("duration"), ann.get("query", "")
    raise PlotInputError(f"{path}: no annotation with qid {tail!r}")


def plot_moment(
    run: str | Path,
    sample_id: str,
    out: str | Path,
    annotations: Optional[str | Path] = None,
    gt: Optional[Sequence[float]] = None,
    clip_len: Optional[float] = None,
) -> list[Path]:
    """Saliency curve (orange), predicted interval (blue) and ground truth (green) of one query, on a time
    axis.

    The predicted interval is the first listed window, the one R1@IoU scores (moment_detr convention).
    Ground truth comes from ``gt``, else the row's ``target``, else ``annotations``.
    """
    row = _find_row(Path(run), sample_id)
    windows = row.get("windows") or []
    saliency = row.get("saliency") or []
    gts: list[Sequence[float]] = [gt] if gt else []
    duration, query = row.get("duration"), row.get("query", "")
    if not gts and row.get("target"):
        tgt = row["target"]
        gts = tgt if isinstance(tgt[0], (list, tuple)) else [tgt]
    if not gts and annotations:
        gts, duration, query = _gt_from_annotations(Path(annotations), sample_id)
    if not windows and not gts:
        raise PlotInputError(f"row {sample_id!r} has no predicted windows and no ground truth was given")
    ends = [w[1] for w in windows] + [g[1] for g in gts]
    if clip_len is None:
        clip_len = float(duration) / len(saliency) if duration and saliency else 2.0
    duration = float(duration or max(ends + [len(saliency) * clip_len]))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
    ax = fig.add_subplot(grid[0])
    bars = fig.add_subplot(grid[1], sharex=ax)
    if saliency:
        xs = [(i + 0.5) * clip_len for i in range(len(saliency))]
        ax.plot(xs, saliency, color=_SALIENCY, linewidth=1.6)
    ax.set_ylabel("saliency" if saliency else "(no saliency)")
    ax.tick_params(labelbottom=False)
    # Lower strip: ground truth on row 0, the scored (first) predicted window on row 1.
    bars.broken_barh([(g[0], g[1] - g[0]) for g in gts], (-0.35, 0.7), color=_GT)

    def label(span: Sequence[float], y: float, color: str) -> None:  # beside the bar, on the side with room
        right = span[1] < 0.8 * duration
        bars.annotate(
            f"{span[0]:.1f}–{span[1]:.1f} s",
            (span[1] if right else span[0], y),
            va="center",
            xytext=(4 if right else -4, 0),
            textcoords="offset points",
            ha="left" if right else "right",
            fontsize=7,
            color=color,
        )

    if windows:
        w = windows[0]
        bars.broken_barh([(w[0], w[1] - w[0])], (0.65, 0.7), color=_PRED)
        label(w, 1.0, _PRED)
    for g in gts:
        label(g, 0.0, _GT)
    bars.set_yticks([0, 1], ["ground truth", "prediction"], fontsize=8)
    bars.set_ylim(-0.6, 1.6)
    ax.set_xlim(0, duration)
    bars.set_xlabel("time (s)")
    ax.set_title((query or sample_id)[:110], fontsize=9)
    return _save(fig, Path(out))
