"""Reports: Table S1-S3 style structure tables (Markdown, LaTeX, CSV) and the Pareto plots."""
from .figures import save_figure
from .plots import Point, plot_pareto
from .rd_plots import plot_rd
from .tables import (DIFFERS, OMITTED, RENDERERS, Column, StructureTable, layer_notations, notation,
                     structure_table, to_csv, to_frame, to_latex, to_markdown)

__all__ = ["save_figure", "plot_rd", "Point", "plot_pareto", "DIFFERS", "OMITTED", "RENDERERS", "Column", "StructureTable",
           "layer_notations", "notation", "structure_table", "to_csv", "to_frame", "to_latex",
           "to_markdown"]
