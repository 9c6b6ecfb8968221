"""Render a paper table (plus any run rows) as LaTeX (booktabs), Markdown or a console table.

In every format the best value of each score column is bold and the second best underlined, ranked on the
printed values so ties look tied; ``(+x.x)`` deltas against a baseline row follow each score. The output is
deterministic (no dates), which is what lets golden files pin the LaTeX byte for byte.
"""
from __future__ import annotations

from typing import Optional

from tabulate import tabulate

from .model import Cell, Column, PaperTable, Row

FORMATS = ("latex", "markdown", "console")
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "⋆": r"$^\star$", "✓": r"\checkmark", "–": "--", "—": "---", "≤": r"$\leq$", "≥": r"$\geq$"}
_ANSI = {"best": ("\033[1m", "\033[0m"), "second": ("\033[4m", "\033[0m")}
_MD = {"best": ("**", "**"), "second": ("<ins>", "</ins>")}
_TEX = {"best": (r"\textbf{", "}"), "second": (r"\underline{", "}")}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def rank_marks(table: PaperTable, rows: tuple[Row, ...]) -> dict[tuple[str, str], str]:
    """``(row key, column id) → "best" | "second"`` per score column (needs two or more numbers in it)."""
    marks: dict[tuple[str, str], str] = {}
    for col in table.score_columns:
        vals = [(r.key, r.value(col.id)) for r in rows if r.value(col.id) is not None]
        if len(vals) < 2:
            continue
        distinct = sorted({v for _, v in vals}, reverse=col.better == "higher")
        for key, v in vals:
            if v == distinct[0]:
                marks[(key, col.id)] = "best"
            elif len(distinct) > 1 and v == distinct[1]:
                marks[(key, col.id)] = "second"
    return marks


def _delta(table: PaperTable, col: Column, row: Row, base: Optional[Row]) -> Optional[float]:
    if base is None or row.key == base.key or col.kind != "score":
        return None
    v, b = row.value(col.id), base.value(col.id)
    if v is None or b is None:
        return None
    d = round(v - b, table.decimals)
    return 0.0 if d == 0 else d  # never print "-0.0"


def _number_text(cell: Cell) -> str:
    """The printed number without a published "(+x.x)" (deltas are recomputed against the chosen baseline)."""
    return cell.text.split("(")[0].strip() if cell.value is not None else cell.text


def _cells(table: PaperTable, row: Row, base: Optional[Row], marks: dict, fmt: str, color: bool) -> dict[str, str]:
    out = {}
    for col in table.columns:
        cell = row.cells.get(col.id) or Cell(text="")
        if col.kind == "info":
            out[col.id] = latex_escape(cell.text) if fmt == "latex" else cell.text
            continue
        if cell.value is None:
            out[col.id] = "--" if fmt == "latex" else "–"
            continue
        text = _number_text(cell)
        mark = marks.get((row.key, col.id))
        wrap = {"latex": _TEX, "markdown": _MD}.get(fmt, _ANSI if color else {})
        if mark in wrap:
            text = wrap[mark][0] + text + wrap[mark][1]
        d = _delta(table, col, row, base)
        if d is not None:
            ds = f"{d:+.{table.decimals}f}"
            text += (r"\,{\scriptsize(" + ds.replace("-", "$-$") + ")}") if fmt == "latex" else f" ({ds})"
        out[col.id] = text
    return out


def _baseline_row(table: PaperTable, baseline: Optional[str]) -> Optional[Row]:
    """``None`` → the paper's own choice (shown only if the paper prints deltas); ``"none"`` → no deltas."""
    if baseline is None:
        baseline = table.baseline if table.show_deltas else None
    if baseline in (None, "", "none"):
        return None
    for r in table.rows:
        if r.key == baseline or r.model == baseline:
            return r
    raise KeyError(f"no row {baseline!r} in table {table.name!r} to take deltas against; rows: "
                   f"{', '.join(r.key for r in table.rows)}")


def render(table: PaperTable, fmt: str, baseline: Optional[str] = None, color: bool = False) -> str:
    """The whole table in ``fmt`` (one of :data:`FORMATS`), ending with a newline."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    base = _baseline_row(table, baseline)
    marks = rank_marks(table, table.rows)
    body = [(r, _cells(table, r, base, marks, fmt, color)) for r in table.rows]
    if fmt == "latex":
        return _latex(table, body)
    headers = [table.model_label] + [f"{c.group} {c.label}".strip() for c in table.columns]
    data = [[r.model + ("†" if r.partial else "")] + [cells[c.id] for c in table.columns]
            for r, cells in body]
    notes = "".join(f"\n{line}" for line in footnotes(table)) + ("\n" if footnotes(table) else "")
    align = ["left"] + ["center" if c.kind == "info" else "right" for c in table.columns]
    if fmt == "markdown":
        grid = tabulate(data, headers, tablefmt="pipe", colalign=align, disable_numparse=True)
        return f"Table: {table.caption}\n\n{grid}\n{notes}"
    grid = tabulate(data, headers, tablefmt="simple", colalign=align, disable_numparse=True)
    return f"{table.title or table.name}\n\n{grid}\n{notes}"


def footnotes(table: PaperTable) -> list[str]:
    """One line per partial run row: such a row is not comparable with the paper's full-benchmark numbers."""
    return [f"† {r.model}: partial run ({r.partial}); not comparable with full-benchmark numbers"
            for r in table.rows if r.partial]


def _latex(table: PaperTable, body: list[tuple[Row, dict[str, str]]]) -> str:
    panels = table.panels or (tuple(c.id for c in table.columns),)
    width = max(len(p) for p in panels)
    label_of = {c.id: latex_escape(c.label) for c in table.columns}
    src = table.source
    lines = [
        f"% Generated by `tpo-eval table {table.name}` from results/paper/{table.name}.yaml; do not edit by hand.",
        f"% Source: {src.get('paper', '?')}, {src.get('table', '?')}, {src.get('version', '?')}.",
        "% Needs " + ", ".join(_packages(body, width)) + ".",
        r"\begin{table}[t]", r"\centering",
        rf"\caption{{{latex_escape(table.caption)}}}", rf"\label{{{table.label}}}",
    ]
    spec = "l" + "c" * width
    lines += [r"\resizebox{\linewidth}{!}{%" if width > 8 else "", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    if not table.panels:
        lines += _group_header(table)
    for i, p in enumerate(panels):
        first = latex_escape(table.model_label) if i == 0 else ""
        lines.append(" & ".join([first] + [label_of.get(c, "") for c in _pad(p, width)]) + r" \\")
    lines.append(r"\midrule")
    runs_started = False
    for n, (row, cells) in enumerate(body):
        if row.origin != "paper" and not runs_started:
            lines.append(r"\midrule")
            runs_started = True
        elif table.panels and n:
            lines.append(r"\addlinespace")
        for i, p in enumerate(panels):
            name = latex_escape(row.model) + (r"$^\dagger$" if row.partial else "") if i == 0 else ""
            lines.append(" & ".join([name] + [cells.get(c, "") for c in _pad(p, width)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if width > 8 else "")]
    lines += [r"\par\smallskip{\footnotesize " + latex_escape(n).replace("†", r"$^\dagger$") + r"\par}"
              for n in footnotes(table)]
    lines.append(r"\end{table}")
    return "\n".join(x for x in lines if x) + "\n"


def _packages(body: list[tuple[Row, dict[str, str]]], width: int) -> list[str]:
    pkgs = [r"\usepackage{booktabs}"] + ([r"\usepackage{graphicx}"] if width > 8 else [])
    if any(r"\checkmark" in v for _, cells in body for v in cells.values()):
        pkgs.append(r"\usepackage{amssymb}")
    return pkgs


def _pad(panel: tuple[str, ...], width: int) -> list[str]:
    return list(panel) + [""] * (width - len(panel))


def _group_header(table: PaperTable) -> list[str]:
    """The upper level of a two-level header: one ``\\multicolumn`` per run of columns sharing a group."""
    if not any(c.group for c in table.columns):
        return []
    cells, rules, i = [""], [], 0
    cols = list(table.columns)
    while i < len(cols):
        j = i
        while j + 1 < len(cols) and cols[j + 1].group == cols[i].group:
            j += 1
        if cols[i].group:
            cells.append(rf"\multicolumn{{{j - i + 1}}}{{c}}{{{latex_escape(cols[i].group)}}}")
            rules.append(rf"\cmidrule(lr){{{i + 2}-{j + 2}}}")
        else:
            cells += [""] * (j - i + 1)
        i = j + 1
    return [" & ".join(cells) + r" \\", " ".join(rules)]
