"""The main job on the image spaces (SlimCAE, EVC) end to end on a tiny budget: single images in both
training stages and in the outer search's scores, each chosen layout against uniform slimming
evaluated image by image through the real bitstream, without an I-frame codec."""
import json

import pandas as pd
import pytest
import yaml

from search.commands.run import main
from search.space import load_space

#: per space: targets the option grid reaches within the landing's 0.5% (SlimCAE's 1080p sub-CAE
#: w = 72 counts 8.460 GMACs; its grid of 125 layouts is landed by enumeration, EVC's by HiGHS)
CASES = {"slimcae": [15.0, 8.5], "evc": [250.0]}


def _tiny(space: str, targets: list[float], test_data, out) -> list[str]:
    return [f"space={space}", f"target_gmacs=[{','.join(f'{t:g}' for t in targets)}]", "stage1_steps=1",
            "steps=2", "stage1_time_limit=0", "time_limit=0", "trials=2", "batch=1", "crop=64",
            "val_count=2", "val_batches=1", "threads=2", "seed=0", "finetune_steps=1",
            "intra=learned", f"test_data={test_data}", f"out={out}"]


@pytest.mark.parametrize("space", sorted(CASES))
def test_image_space_main_job(space, tmp_path, tiny_test_set, capsys):
    targets = CASES[space]
    out = tmp_path / space
    assert main(_tiny(space, targets, tiny_test_set, out)) == 0
    printed = capsys.readouterr().out
    assert "no I-frame codec, intra=learned is ignored" in printed
    for name in ("config.yaml", "profile.json", "summary.json", "report.md", "report.tex", "report.csv",
                 "pareto.png", "pareto.svg", "trials.csv", "study.db", "rd_points.csv", "images.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not (out / "intra.pt").exists()  # an image codec codes every image itself

    summary = json.loads((out / "summary.json").read_text())
    assert summary["codec"] == space and summary["bpp_source"] == "image bitstream"
    assert [row["target_gmacs"] for row in summary["targets"]] == targets
    for row in summary["targets"]:
        target, chosen, uniform = row["target_gmacs"], row["chosen"], row["uniform"]
        assert -0.01 <= chosen["distance"] <= 0 and chosen["gmacs"] <= target
        assert 0 < uniform["width"] <= 1
        # at the chosen GMACs: one width factor within 1%, or read between it and the next wider layout
        assert abs(uniform["gmacs"] - chosen["gmacs"]) <= 0.01 * chosen["gmacs"]
        for side in (chosen, uniform):
            assert {"gmacs", "psnr", "ms_ssim", "bpp", "bpp_likelihood", "rd_loss"} <= set(side)
            assert "bpp_i" not in side and 0 < side["bpp"] < 24 and 0 < side["ms_ssim"] <= 1
            # the real bitstream costs about what the likelihoods estimate (bytes round up)
            assert side["bpp"] == pytest.approx(side["bpp_likelihood"], rel=0.35, abs=0.1)
        exported = yaml.safe_load((out / chosen["layout_file"]).read_text())
        assert exported["codec"] == space and exported["layout"].keys() == load_space(space).layers.keys()
        assert (out / chosen["weights_file"]).is_file()
    assert {"psnr", "ms_ssim", "bpp", "stage1"} <= set(summary["original"])

    images = pd.read_csv(out / "images.csv")
    labels = [f"{side} @{t:g}" for t in targets for side in ("Chosen", "Uniform")]
    labels += [f"Uniform @{row['target_gmacs']:g} (wider)" for row in summary["targets"]
               if "wider" in row["uniform"]]  # the uniform curve's second point, read between
    assert sorted(images["layout"].unique()) == sorted(labels)
    assert len(images) == 2 * len(labels)  # the two 64x64 PNG images of the tiny set, per side
    assert set(images["type"]) == {"image"} and set(images["intra"]) == {"none (image codec)"}
    chosen = images[images["layout"] == labels[0]]
    assert chosen["bpp"].mean() == pytest.approx(summary["targets"][0]["chosen"]["bpp"])
    report = (out / "report.md").read_text()
    assert f"Chosen @{targets[0]:g}" in report and "bpp (image bitstream)" in report
