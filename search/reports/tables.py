"""Table S1-S3 style structure tables: one row per layer in the paper's notation, GMAC rows per module.

A table is built once (:func:`structure_table`) and rendered as Markdown, LaTeX or CSV.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from ..codec import Codec
from ..complexity import Complexity
from ..config.values import format_resolution
from ..nn.widths import Row
from ..space import Space

DIFFERS, OMITTED = "†", "‡"


@dataclass
class Column:
    """A report column: a named layout, and optional extra figures (PSNR, bpp...) by row label."""

    name: str
    layout: Mapping[str, int]
    metrics: dict[str, str] = field(default_factory=dict)


@dataclass
class TableRow:
    kind: str  # "module", "layer", "gmacs", "total", "metric"
    label: str
    key: str
    cells: list[str]


@dataclass
class StructureTable:
    space: str
    headers: list[str]
    rows: list[TableRow]
    notes: list[str]


def notation(codec: type[Codec], row: Row, layout: Mapping[str, int]) -> str:
    numbers = [w.value(layout) for w in row.numbers]
    if row.kind == "R":
        picked = [numbers[i] for i in codec.residual_notation_indices()]
        return f"R({','.join(map(str, picked))}){row.arrow}"
    return f"{row.kind}({','.join(map(str, numbers))}){row.arrow}"


def layer_notations(space: Space, layout: Mapping[str, int]) -> dict[str, str]:
    rows = space.codec().widths.rows
    return {key: notation(space.codec, rows[key], layout) for key in space.layers}


def structure_table(space: Space, complexity: Complexity, columns: Sequence[Column]) -> StructureTable:
    rows_by_key = space.codec().widths.rows
    codec_layers = {layer.key: layer for layer in space.codec.LAYERS}
    table: list[TableRow] = []
    differs: list[str] = []
    module_macs = [complexity.module_macs(c.layout) for c in columns]
    for module in space.modules:
        tags = [] if module.in_paper else ["not in the paper's table"]
        if not module.decoder:
            tags.append("not decoding cost")
        label = module.name + (f" ({'; '.join(tags)})" if tags else "")
        table.append(TableRow("module", label, "", ["" for _ in columns]))
        for key in module.layers:
            cells = [notation(space.codec, rows_by_key[key], c.layout) for c in columns]
            layer = codec_layers[key]
            if module.in_paper and layer.paper == "":
                cells[0] += OMITTED
            elif layer.paper:
                cells[0] += DIFFERS
                differs.append(f"{DIFFERS} `{key}`: the paper's table prints {layer.paper}; "
                               f"{layer.note or 'the public code differs'}.")
            table.append(TableRow("layer", key, key, cells))
        table.append(TableRow("gmacs", f"{module.name} GMACs", "",
                              [f"{m[module.name] / 1e9:.3f}" for m in module_macs]))
    decoder = [m.name for m in space.decoder_modules]
    table.append(TableRow("total", "Decoder GMACs", "",
                          [f"{sum(m[n] for n in decoder) / 1e9:.3f}" for m in module_macs]))
    for label in dict.fromkeys(k for c in columns for k in c.metrics):
        table.append(TableRow("metric", label, "", [c.metrics.get(label, "") for c in columns]))
    profile = complexity.profile
    notes = [
        "C(in,out) convolution; D(in,out) transposed convolution; S(in,out) sub-pixel convolution "
        "(3x3 conv to 4*out channels, PixelShuffle x2); DC(in,out) deformable convolution; "
        + space.codec.residual_legend()
        + "; ↓/↑ stride 2 (for R: a following average pool / upsampling). Numbers are channel "
          "widths at the column's layout.",
        f"GMACs at {format_resolution(profile.resolution)} (padded to "
        f"{format_resolution(profile.padded)}), counted as fvcore counts MACs (convolutions, "
        f"GDN's 1x1 mixing, deformable convolution by our handle); each column from the closed form "
        f"of the fvcore profile, which equals fvcore's count of the decoder built at that layout to "
        f"the MAC. Decoder GMACs: the sum over {', '.join(decoder)}.",
        "Not counted (not multiply-accumulates): "
        + ", ".join(f"{op.split('::')[-1]} x{n}" for op, n in profile.uncounted_ops.items()) + ".",
    ]
    if any(m.in_paper for m in space.modules) and any(OMITTED in r.cells[0] for r in table if r.cells):
        notes.append(f"{OMITTED} a layer of the public code that the paper's table omits.")
    notes.extend(differs)
    return StructureTable(space.name, ["Layer"] + [c.name for c in columns], table, notes)


# -- rendering -------------------------------------------------------------------------------------


def to_markdown(table: StructureTable) -> str:
    out = io.StringIO()
    out.write(f"# Decoder structure: {table.space}\n\n")
    out.write("| " + " | ".join(table.headers) + " |\n")
    out.write("|" + "|".join(["---"] * len(table.headers)) + "|\n")
    for row in table.rows:
        if row.kind == "module":
            out.write(f"| **{row.label}** |" + " |" * (len(table.headers) - 1) + "\n")
        elif row.kind == "layer":
            out.write(f"| `{row.label}` | " + " | ".join(row.cells) + " |\n")
        else:
            out.write(f"| *{row.label}* | " + " | ".join(f"*{c}*" if c else "" for c in row.cells)
                      + " |\n")
    out.write("\n" + "\n".join(f"- {n}" for n in table.notes) + "\n")
    return out.getvalue()


_TEX_ESCAPE = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
               "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
               "↓": r"$\downarrow$", "↑": r"$\uparrow$", DIFFERS: r"$^\dagger$",
               OMITTED: r"$^\ddagger$", "`": ""}


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPE.get(ch, ch) for ch in text)


def to_latex(table: StructureTable) -> str:
    n = len(table.headers)
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             rf"\caption{{Decoder structure: {tex_escape(table.space)}}}",
             r"\begin{tabular}{l" + "c" * (n - 1) + "}", r"\toprule",
             " & ".join(tex_escape(h) for h in table.headers) + r" \\", r"\midrule"]
    for row in table.rows:
        if row.kind == "module":
            lines.append(rf"\multicolumn{{{n}}}{{l}}{{\textbf{{{tex_escape(row.label)}}}}} \\")
        else:
            label = tex_escape(row.label) if row.kind == "layer" else rf"\emph{{{tex_escape(row.label)}}}"
            lines.append(" & ".join([label] + [tex_escape(c) for c in row.cells]) + r" \\")
        if row.kind == "gmacs":
            lines.append(r"\midrule")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip\footnotesize"]
    lines += [tex_escape(note) + r"\par" for note in table.notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


#: the ``module`` column of rows that belong to no module of the space
SUMMARY_MODULES = {"total": "Decoder", "metric": "Figures"}


def to_frame(table: StructureTable) -> pd.DataFrame:
    """One record per layer, GMAC, total or figure row; ``module`` names the group it belongs to."""
    module = ""
    records = []
    for row in table.rows:
        if row.kind == "module":
            module = row.label
            continue
        records.append([SUMMARY_MODULES.get(row.kind, module), row.kind, row.label] + row.cells)
    return pd.DataFrame(records, columns=["module", "row", "label"] + table.headers[1:])


def to_csv(table: StructureTable) -> str:
    return to_frame(table).to_csv(index=False)


RENDERERS = {"md": to_markdown, "tex": to_latex, "csv": to_csv}
