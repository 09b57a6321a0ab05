"""Bad input to the command lines: one line on stderr, exit status 2, no traceback, nothing written.

The real CLIs run as subprocesses for a handful of cases (each pays the import cost, so they run
concurrently in one module fixture); the other cases call ``main`` in-process on the same code path,
with its standard streams captured.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from search.commands import profile as profile_cli
from search.commands import report as report_cli
from search.space import layout_file, load_layout
from search.space import load_space

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "profiles"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def _write_layout(path: Path, space_name: str, **changes) -> Path:
    space = load_space(space_name)
    layout = space.full_layout()
    layout.update(changes)
    layout_file(space, layout, (1920, 1080), None, name=path.stem).save(path)
    return path


def _one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), stderr
    assert "Traceback" not in stderr, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


# -- real subprocesses ---------------------------------------------------------------------------

#: the cases run as real subprocesses (each pays seconds of imports); the others call ``main`` in-process
SUBPROCESS = {"unknown_space", "malformed_space", "profile_resolution_0x0"}


def _in_process(module: str, args: list[str]) -> SimpleNamespace:
    """``python -m module args`` as a call of its ``main``: exit status, stdout and stderr."""
    main = {"search.report": report_cli.main, "search.profile": profile_cli.main}[module]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(args) or 0
        except SystemExit as exc:
            code = exc.code
    return SimpleNamespace(returncode=code, stdout=stdout.getvalue(), stderr=stderr.getvalue())



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run every subprocess case at once; returns {case: (CompletedProcess, out file or None)}."""
    base = tmp_path_factory.mktemp("cli")
    inputs = base / "inputs"
    inputs.mkdir()
    malformed = inputs / "broken.yaml"
    malformed.write_text("codec: dvc\nmodules:\n  - name: [Motion Decoder\n    layers: {}\n")
    negative = _write_layout(inputs / "negative.yaml", "dvc")
    data = yaml.safe_load(negative.read_text())
    data["layout"]["mvDecoder.deconv3"] = -8
    negative.write_text(yaml.safe_dump(data, sort_keys=False))
    dvc_layout = _write_layout(inputs / "dvc_full.yaml", "dvc")
    empty_profiles = base / "profiles"
    empty_profiles.mkdir()

    cases = {
        "unknown_space": ("search.report", ["space=nosuch"], True),
        "malformed_space": ("search.report", [f"space={malformed}"], True),
        "resolution_1920x": ("search.report", ["space=dvc", "resolution=1920x"], True),
        "unknown_key": ("search.report", ["space=dvc", "layout=a.yaml"], True),
        "negative_width": ("search.report", ["space=dvc", f"layouts={negative}",
                                             f"profile_dir={empty_profiles}"], True),
        "other_codec": ("search.report", ["space=fvc", f"layouts={dvc_layout}",
                                          f"profile_dir={empty_profiles}"], True),
        "format_pdf": ("search.report", ["space=dvc", "format=pdf",
                                         f"profile_dir={empty_profiles}"], True),
        "profile_unknown_space": ("search.profile", ["space=nosuch"], False),
        "profile_resolution_0x0": ("search.profile", ["space=dvc", "resolution=0x0"], False),
    }

    def run(name):
        module, args, with_out = cases[name]
        out = None
        if with_out:
            folder = base / f"out_{name}"
            folder.mkdir()
            out = folder / "report.md"
            args = args + [f"out={out}"]
        if name in SUBPROCESS:
            proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                                  capture_output=True, text=True, timeout=120)
        else:
            proc = _in_process(module, args)
        return name, (proc, out)

    before = _snapshot(PROFILES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(run, sorted(SUBPROCESS)))
    results.update(run(name) for name in cases if name not in SUBPROCESS)  # stderr is process-wide
    results["_profiles"] = (before, _snapshot(PROFILES))
    results["_inputs"] = {"malformed": malformed, "negative": negative, "dvc_layout": dvc_layout,
                          "empty_profiles": empty_profiles}
    return results


NEEDLES = {
    "unknown_space": ["unknown space 'nosuch'", "dvc", "fvc"],
    "malformed_space": ["broken.yaml", "malformed YAML", "line"],
    "resolution_1920x": ["resolution='1920x'", "WIDTHxHEIGHT"],
    "unknown_key": ["'layout'", "layouts"],
    "negative_width": ["negative.yaml", "mvDecoder.deconv3", "-8"],
    "other_codec": ["dvc_full.yaml", "'dvc'", "'fvc'"],
    "format_pdf": ["format='pdf'", "md", "tex", "csv"],
    "profile_unknown_space": ["unknown space 'nosuch'"],
    "profile_resolution_0x0": ["resolution='0x0'"],
}


@pytest.mark.parametrize("case", list(NEEDLES))
def test_subprocess_bad_input(runs, case):
    proc, out = runs[case]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    line = _one_line(proc.stderr)
    for needle in NEEDLES[case]:
        assert needle in line, (needle, line)
    assert proc.stdout == ""
    if out is not None:
        assert not out.exists()
        assert list(out.parent.iterdir()) == [], "stray files beside out="


def test_subprocess_nothing_written(runs):
    before, after = runs["_profiles"]
    assert before == after
    assert list(runs["_inputs"]["empty_profiles"].iterdir()) == []


# -- in-process, same code paths -----------------------------------------------------------------


def _fails(main, args, capsys, *needles) -> str:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    for needle in needles:
        assert needle in line, (needle, line)
    return line


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    yield folder / "report.md"
    assert list(folder.iterdir()) == [], "report written or stray temp file left"


@pytest.fixture
def profile_dir(tmp_path):
    folder = tmp_path / "profiles"
    folder.mkdir()
    return folder


def _report(space, out, profile_dir, *extra):
    return [f"space={space}", f"out={out}", f"profile_dir={profile_dir}", *extra]


@pytest.mark.parametrize("resolution", ["0x0", "1920x", "x1080", "1920x-8", "1920*1080", "0x10"])
def test_bad_resolution(capsys, out, profile_dir, resolution):
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"resolution={resolution}"), capsys,
           f"resolution={resolution!r}")


@pytest.mark.parametrize("word, needle", [("fromat=md", "format"), ("spase=dvc", "space"),
                                          ("resolution", "key=value")])
def test_unknown_or_malformed_key(capsys, out, profile_dir, word, needle):
    _fails(report_cli.main, _report("dvc", out, profile_dir, word), capsys, needle)


def test_unknown_space_suggests(capsys, out, profile_dir):
    _fails(report_cli.main, _report("fcv", out, profile_dir), capsys, "'fcv'", "'fvc'")


def test_missing_space_file(capsys, out, profile_dir, tmp_path):
    path = tmp_path / "nope.yaml"
    _fails(report_cli.main, _report(path, out, profile_dir), capsys, str(path))


def test_bad_space_file(capsys, out, profile_dir, tmp_path):
    data = yaml.safe_load((ROOT / "spaces" / "fvc.yaml").read_text())
    data["ties"] = []
    path = tmp_path / "untied.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _fails(report_cli.main, _report(path, out, profile_dir), capsys, str(path), "must be tied")


def test_width_not_among_options(capsys, out, profile_dir, tmp_path):
    path = _write_layout(tmp_path / "odd.yaml", "dvc", **{"mvDecoder.deconv2": 100})
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={path}"), capsys,
           str(path), "mvDecoder.deconv2", "100", "options")


@pytest.mark.parametrize("width", [-8, 0])
def test_non_positive_width(capsys, out, profile_dir, tmp_path, width):
    path = _write_layout(tmp_path / "neg.yaml", "dvc", **{"resDecoder.deconv1": width})
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={path}"), capsys,
           str(path), "resDecoder.deconv1", str(width))


def test_non_integer_width(capsys, out, profile_dir, tmp_path):
    path = _write_layout(tmp_path / "text.yaml", "dvc")
    path.write_text(path.read_text().replace("resDecoder.deconv1: 64", "resDecoder.deconv1: wide"))
    assert "resDecoder.deconv1: wide" in path.read_text()
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={path}"), capsys,
           str(path), "resDecoder.deconv1")


def test_unknown_layer_in_layout(capsys, out, profile_dir, tmp_path):
    path = _write_layout(tmp_path / "extra.yaml", "dvc", **{"mvDecoder.deconv33": 64})
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={path}"), capsys,
           str(path), "mvDecoder.deconv33", "did you mean")


def test_layout_for_other_codec(capsys, out, profile_dir, tmp_path):
    path = _write_layout(tmp_path / "fvc_layout.yaml", "fvc")
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={path}"), capsys,
           str(path), "'fvc'", "'dvc'")


def test_layout_breaking_a_tie(capsys, out, profile_dir, tmp_path):
    space = load_space("fvc")
    key = space.codec.TIES[0][0][0]
    path = _write_layout(tmp_path / "untied.yaml", "fvc", **{key: space.layers[key].options[1]})
    _fails(report_cli.main, _report("fvc", out, profile_dir, f"layouts={path}"), capsys,
           str(path), "tie", key)


def test_missing_and_malformed_layout(capsys, out, profile_dir, tmp_path):
    missing = tmp_path / "missing.yaml"
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={missing}"), capsys,
           str(missing))
    broken = tmp_path / "broken.yaml"
    broken.write_text("codec: dvc\nlayout: {a: 1\n")
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={broken}"), capsys,
           str(broken), "malformed YAML")
    duplicated = tmp_path / "dup.yaml"
    duplicated.write_text("codec: dvc\nspace: dvc\nlayout:\n  mvDecoder.deconv1: 128\n"
                          "  mvDecoder.deconv1: 64\n")
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={duplicated}"), capsys,
           str(duplicated), "mvDecoder.deconv1", "duplicated")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={listing}"), capsys,
           str(listing), "layout")


def test_second_layout_bad_writes_nothing(capsys, out, profile_dir, tmp_path):
    good = _write_layout(tmp_path / "good.yaml", "dvc")
    bad = _write_layout(tmp_path / "bad.yaml", "dvc", **{"warpnet.conv1": 3})
    _fails(report_cli.main, _report("dvc", out, profile_dir, f"layouts={good},{bad}"), capsys,
           str(bad), "warpnet.conv1")


@pytest.mark.parametrize("args, needle", [(["space=nosuch"], "nosuch"),
                                          (["space=dvc", "resolution=0x0"], "'0x0'"),
                                          (["space=dvc", "resolution=1920x"], "'1920x'"),
                                          (["space=dvc", "force=maybe"], "force")])
def test_profile_bad_input_writes_nothing(capsys, profile_dir, args, needle):
    _fails(profile_cli.main, args + [f"profile_dir={profile_dir}"], capsys, needle)
    assert list(profile_dir.iterdir()) == []


def test_layout_round_trip(tmp_path):
    space = load_space("fvc")
    layout = space.uniform_layout(1)
    path = layout_file(space, layout, (832, 480), 12.5, name="half").save(tmp_path / "half.yaml")
    assert [p.name for p in tmp_path.iterdir()] == ["half.yaml"]
    loaded = load_layout(path, space)
    assert loaded.layout == layout
    assert loaded.resolution == (832, 480)
    assert loaded.gmacs == 12.5 and loaded.name == "half" and loaded.codec == "fvc"


def test_good_report_is_written(capsys, tmp_path):
    """Sanity: the same command with good input succeeds (so the failures above are the input's)."""
    profile_dir = tmp_path / "profiles"
    profile_dir.mkdir()
    for p in PROFILES.glob("dvc@1920x1080.json"):
        shutil.copy(p, profile_dir / p.name)
    layout = _write_layout(tmp_path / "half.yaml", "dvc",
                           **load_space("dvc").uniform_layout(1))
    out = tmp_path / "out" / "report.csv"
    assert report_cli.main(_report("dvc", out, profile_dir, f"layouts={layout}", "format=csv")) == 0
    assert out.is_file() and out.read_text().strip()
    assert [p.name for p in out.parent.iterdir()] == ["report.csv"]
    assert "half" in out.read_text()


# -- the main job: what the outer loop, the verdict and the export read after training -------------

@pytest.mark.parametrize("args, needles", [
    (["val_crop=50"], ["val_crop=50", "multiple of the codec's"]),
    (["val_count=0"], ["val_count=0", "at least 1"]),
    (["finetune_steps=-1"], ["finetune_steps=-1", ">= 0"]),
    (["finetune_lr=0"], ["finetune_lr=0", "> 0"]),
    (["test_data=/nonexistent/clips"], ["/nonexistent/clips", "no such file or folder"]),
    (["val_count=4", "val_batches=3"], ["val_batches=3", "divisor of val_count=4"]),
])
def test_run_checks_the_verdict_before_training(capsys, tmp_path, args, needles):
    """Each would fail only after stage 1 and stage 2 had trained: refused first, nothing written."""
    from search.commands import run as run_cli

    folder = tmp_path / "run"
    _fails(run_cli.main, ["space=dvc", "target_gmacs=[300]", *args, f"out={folder}"], capsys, *needles)
    assert not folder.exists()
