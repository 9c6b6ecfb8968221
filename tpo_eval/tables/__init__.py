"""Paper tables as data, and their rendering: ``results/paper/*`` → LaTeX / Markdown / console.

``load_table(name)`` reads a table, ``run_row(table, runs, label)`` turns run directories into a row of it
(``run_rows`` adds the table's ``run_variants`` rows: another extractor, another overall),
``render(table, fmt)`` prints it. ``tpo_eval.verify`` audits the published numbers.
"""
from .model import PAPER_DIR, Aggregate, Cell, Column, PaperTable, Row, TableError, list_tables, load_table, parse_cell
from .render import FORMATS, latex_escape, rank_marks, render
from .runs import parse_run_args, read_results, run_row, run_rows, run_value

__all__ = [
    "PAPER_DIR", "Aggregate", "Cell", "Column", "PaperTable", "Row", "TableError", "list_tables", "load_table",
    "parse_cell", "FORMATS", "latex_escape", "rank_marks", "render", "parse_run_args", "read_results", "run_row",
    "run_rows", "run_value",
]
