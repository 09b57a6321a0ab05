"""Reports: Table S1-S3 style structure tables (Markdown, LaTeX, CSV) and the Pareto plots."""
from .plots import Point, plot_pareto
from .tables import (DIFFERS, OMITTED, RENDERERS, Column, StructureTable, layer_notations, notation,
                     structure_table, to_csv, to_frame, to_latex, to_markdown)

__all__ = ["Point", "plot_pareto", "DIFFERS", "OMITTED", "RENDERERS", "Column", "StructureTable",
           "layer_notations", "notation", "structure_table", "to_csv", "to_frame", "to_latex",
           "to_markdown"]
