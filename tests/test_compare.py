"""``python -m search.compare``: BD figures on curves with a known answer, and bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
