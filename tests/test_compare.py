"""``python -m search.compare``: BD figures on curves with a known answer, and bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from search.commands.compare import main

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = (256, 512, 1024, 2048)


def write_sequences(path: Path, rate_factor: float = 1.0, psnr_shift: float = 0.0,
                    lambdas=LAMBDAS) -> Path:
    """A sequences.csv of two classes, two sequences each, one RD point per lambda."""
    rows = []
    for group, names in (("HEVC-B", ("Cactus", "Kimono")), ("UVG", ("Beauty", "Jockey"))):
        for k, name in enumerate(names):
            for i, lmbda in enumerate(lambdas):
                bpp = 0.05 * (k + 1) * 2 ** i
                rows.append({"lambda": lmbda, "class": group, "sequence": name,
                             "bpp": bpp * rate_factor, "psnr": 30 + 2.5 * i + k + psnr_shift,
                             "ms_ssim": 0.95 + 0.01 * i + psnr_shift / 100})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_same_quality_at_nine_tenths_the_rate_is_minus_ten_percent(tmp_path, capsys):
    anchor = write_sequences(tmp_path / "anchor" / "sequences.csv")
    test = write_sequences(tmp_path / "test" / "sequences.csv", rate_factor=0.9)
    assert main([str(anchor), str(test), f"out={tmp_path / 'bd'}"]) == 0
    table = pd.read_csv(tmp_path / "bd" / "bd.csv")
    psnr = table[table["metric"] == "psnr"]
    assert len(psnr) == 4 + 2 + 1  # sequences, class means, mean over classes
    assert psnr["bd_rate"].tolist() == pytest.approx([-10.0] * 7, abs=1e-9)
    assert (psnr["bd_quality"] > 0).all()  # better quality at equal rate
    assert {"test", "anchor"} == set(table.loc[0, ["test", "anchor"]].index) and table["test"][0] == "test"
    assert "BD-PSNR (dB)" in capsys.readouterr().out
    assert (tmp_path / "bd" / "rd_UVG.png").is_file() and (tmp_path / "bd" / "rd_HEVC-B.svg").is_file()


def test_quality_shift_at_equal_rate(tmp_path):
    anchor = write_sequences(tmp_path / "a.csv")
    test = write_sequences(tmp_path / "b.csv", psnr_shift=0.5)
    assert main([str(anchor), str(test), f"out={tmp_path / 'bd'}"]) == 0
    psnr = pd.read_csv(tmp_path / "bd" / "bd.csv").query("metric == 'psnr'")
    assert psnr["bd_quality"].tolist() == pytest.approx([0.5] * 7, abs=1e-6)
    assert (psnr["bd_rate"] < 0).all()


@pytest.mark.parametrize("case, words", [("one point", "at least 2"), ("apart", "do not overlap"),
                                         ("alone", "two inputs")])
def test_bad_input_is_one_line(tmp_path, case, words):
    anchor = write_sequences(tmp_path / "a.csv")
    if case == "one point":
        args = [str(anchor), str(write_sequences(tmp_path / "b.csv", lambdas=(256,)))]
    elif case == "apart":
        args = [str(anchor), str(write_sequences(tmp_path / "b.csv", psnr_shift=40))]
    else:
        args = [str(anchor)]
    done = subprocess.run([sys.executable, "-m", "search.compare", *args, f"out={tmp_path / 'bd'}"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "bd").exists()


def overall_row(folder: Path, metric: str = "psnr") -> pd.Series:
    table = pd.read_csv(folder / "bd.csv")
    return table[(table["metric"] == metric) & (table["class"] == "(mean over classes)")].iloc[0]


def test_intervals_cover_the_estimate_and_give_the_verdict(tmp_path):
    anchor = write_sequences(tmp_path / "anchor" / "sequences.csv")
    rows = pd.read_csv(anchor)
    rows["bpp"] *= rows["sequence"].map({"Cactus": 0.85, "Kimono": 0.9, "Beauty": 0.8, "Jockey": 0.95})
    test = tmp_path / "test" / "sequences.csv"
    test.parent.mkdir()
    rows.to_csv(test, index=False)
    assert main([str(anchor), str(test), f"out={tmp_path / 'bd'}", "resamples=300"]) == 0
    row = overall_row(tmp_path / "bd")
    assert row["bd_rate_low"] < row["bd_rate"] < row["bd_rate_high"] < 0
    assert row["bd_rate_verdict"] == "better" and row["bd_quality_verdict"] == "better"
    assert row["d_quality_at_bpp"] > 0 and row["units"] == "4 sequences"
    # a test curve equal to the anchor on two sequences and worse on two: not distinguishable
    rows["bpp"] = pd.read_csv(anchor)["bpp"] * rows["sequence"].map(
        {"Cactus": 1.0, "Kimono": 1.3, "Beauty": 1.0, "Jockey": 0.8})
    rows.to_csv(test, index=False)
    main([str(anchor), str(test), f"out={tmp_path / 'bd2'}", "resamples=300"])
    assert overall_row(tmp_path / "bd2")["bd_rate_verdict"] == "not distinguishable"


def write_frames(path: Path, gops: int, rate_factor: float, seed: int) -> Path:
    """A frames.csv of one sequence: ``gops`` GOPs of I+P frames per lambda, content varying by GOP."""
    rng = np.random.default_rng(seed)
    hard = rng.uniform(0.8, 1.2, gops)
    rows = []
    for i, lmbda in enumerate(LAMBDAS):
        for g in range(gops):
            for k, kind in enumerate("IP"):
                rows.append({"lambda": lmbda, "class": "UVG", "sequence": "Beauty", "frame": 2 * g + k,
                             "type": kind, "bpp": 0.05 * 2 ** i * hard[g] * rate_factor * (2 - k),
                             "psnr": 30 + 2.5 * i - hard[g] + rng.normal(0, 0.05)})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_one_sequence_resamples_its_gops(tmp_path):
    anchor = write_frames(tmp_path / "anchor" / "frames.csv", 5, 1.0, 0)
    test = write_frames(tmp_path / "test" / "frames.csv", 5, 0.8, 1)
    assert main([str(anchor), str(test), f"out={tmp_path / 'bd'}", "resamples=200"]) == 0
    row = overall_row(tmp_path / "bd")
    assert row["units"] == "5 GOPs" and row["bd_rate_low"] < row["bd_rate_high"]
    assert row["bd_rate_low"] <= row["bd_rate"] <= row["bd_rate_high"] and row["bd_rate"] < 0


def test_seeds_combine_into_one_interval(tmp_path):
    anchor = write_sequences(tmp_path / "anchor" / "sequences.csv")
    for seed, factor in ((0, 0.9), (1, 0.8)):
        write_sequences(tmp_path / f"run-seed{seed}" / "sequences.csv", rate_factor=factor)
    folders = [str(tmp_path / f"run-seed{s}" / "sequences.csv") for s in (0, 1)]
    assert main([str(anchor), *folders, f"out={tmp_path / 'bd'}", "resamples=300"]) == 0
    row = overall_row(tmp_path / "bd")
    assert row["units"] == "2 seeds x 4 sequences"
    assert row["bd_rate"] == pytest.approx(-15.0, abs=1e-6)  # the mean of -10% and -20%
    assert row["bd_rate_low"] == pytest.approx(-20.0, abs=1e-6) and row["bd_rate_high"] < -10.0 + 1e-6
    assert main([str(anchor), folders[0], "seeds=[0,1]", f"out={tmp_path / 'bd2'}",
                 "resamples=300"]) == 0
    assert overall_row(tmp_path / "bd2")["units"] == "2 seeds x 4 sequences"


def test_anchor_against_every_curve_of_a_main_job(tmp_path):
    anchor = write_sequences(tmp_path / "jpeg" / "sequences.csv")
    anchor_rows = pd.read_csv(anchor).rename(columns={"lambda": "quality"})  # as search.anchors writes
    anchor_rows.to_csv(anchor, index=False)
    run = tmp_path / "run"
    tables = [pd.read_csv(write_sequences(tmp_path / f"{k}.csv", rate_factor=f)).assign(layout=name)
              for k, (name, f) in enumerate((("Chosen @30", 0.9), ("Uniform @30", 1.1)))]
    run.mkdir()
    pd.concat(tables).to_csv(run / "rd_points.csv", index=False)
    assert main([str(anchor), str(run), f"out={tmp_path / 'bd'}", "resamples=100"]) == 0
    table = pd.read_csv(tmp_path / "bd" / "bd.csv")
    overall = table[(table["metric"] == "psnr") & (table["class"] == "(mean over classes)")]
    assert dict(zip(overall["test"], overall["bd_rate"].round(6))) == {"Chosen @30": -10.0,
                                                                       "Uniform @30": 10.0}
    assert set(overall["anchor"]) == {"jpeg"}
