"""Devices, mixed precision and torch.compile (``search.training.runtime``): the keys every command
takes, their checks (one line, exit 2, when the configuration is built), bf16 and fp16 training on the
CPU (their code paths, tested without a GPU), a torch.compile smoke test, the paper preset's data, and,
on a machine with a GPU (``-m cuda``), training, encoding and decoding on it.

bf16 and fp16 convolutions are slow on CPUs without native support (PyTorch falls back to its
reference kernels), so the CPU runs here use SlimVC at its smallest crop (48x48), batch 1.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from search.commands import eval as eval_cli
from search.commands import profile as profile_cli
from search.commands import report as report_cli
from search.commands import run as run_cli
from search.commands import supernet as supernet_cli
from search.commands import train as train_cli
from search.entropy import update_all
from search.space import load_space
from search.config import EvalConfig
from search.training import Runtime, codec_at_layout, parse_device
from search.training.runtime import ENTROPY_MODULES, keep_entropy_fp32, start_runtime

ROOT = Path(__file__).resolve().parent.parent
SLIM = ["space=slimvc", "crop=48", "batch=1", "threads=2", "seed=0", "time_limit=0", "intra=pristine"]
COMMANDS = {"train": (train_cli.main, ["space=dcvc"]),
            "supernet": (supernet_cli.main, ["space=dcvc", "target_gmacs=[300]"]),
            "run": (run_cli.main, ["space=dcvc", "target_gmacs=[300]"]),
            "eval": (eval_cli.main, ["space=dcvc"]),
            "profile": (profile_cli.main, ["space=dcvc"]),
            "report": (report_cli.main, ["space=dcvc"])}


def refused(capsys, main, args: list[str], out: Path | None = None) -> str:
    """``main(args)`` exits 2 with one ``error:`` line on stderr, no traceback, nothing in ``out``."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args + ([f"out={out}"] if out else []))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert out is None or not out.exists()
    return lines[0]


def read_log(folder: Path) -> list[dict[str, float]]:
    with (folder / "log.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


# ----------------------------------------------------------------- the keys, checked at configure

@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_cuda_without_a_gpu_is_one_line(command, device, tmp_path, capsys):
    main, args = COMMANDS[command]
    out = tmp_path / "never" if command not in ("profile",) else None
    message = refused(capsys, main, [*args, f"device={device}"], out)
    assert f"device={device}" in message and "no CUDA GPU" in message and "device=cpu" in message


@pytest.mark.parametrize("args, words", [
    (["device=tpu"], ["device='tpu'", "auto, cpu, cuda or cuda:N"]),
    (["precision=fp8"], ["precision='fp8'", "fp32, tf32, bf16, fp16"]),
    (["data_workers=-1"], ["data_workers=-1", ">= 0"]),
])
def test_bad_runtime_values(args, words, tmp_path, capsys):
    message = refused(capsys, train_cli.main, ["space=dcvc", *args], tmp_path / "never")
    assert all(w in message for w in words), message


def test_auto_is_the_cpu_here_and_cpu_is_accepted():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert parse_device("auto").type == expected
    assert parse_device(" CPU ") == torch.device("cpu")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_takes_the_device(command, capsys):
    main, _ = COMMANDS[command]
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "device=auto" in text
    trains = command in ("train", "supernet", "run")
    for key in ("precision=fp32", "compile=False", "data_workers=0"):
        assert (key in text) == trains, (command, key)


def test_paper_preset_needs_vimeo_and_a_papers_lambda(tmp_path, capsys):
    for main, args in (COMMANDS["train"], COMMANDS["supernet"], COMMANDS["run"]):
        message = refused(capsys, main, [*args, "preset=paper"], tmp_path / "never")
        assert "preset=paper" in message and "Vimeo-90k" in message and "data=" in message
    folder = tmp_path / "vimeo"
    folder.mkdir()
    message = refused(capsys, train_cli.main, ["space=dcvc", "preset=paper", f"data={folder}",
                                               "lambda=300"], tmp_path / "never")
    assert "lambda=300" in message and "256, 512, 1024, 2048" in message


# ------------------------------------------------------------------ reduced precision on the CPU

@pytest.fixture(scope="module")
def frames_folder(tmp_path_factory) -> Path:
    """``sequences/00001/<clip>/im1..3.png``: the first frames of each default clip (quick to read)."""
    from PIL import Image

    from search.data import default_clips, read_video

    root = tmp_path_factory.mktemp("frames")
    for path in default_clips():
        folder = root / "sequences" / "00001" / path.stem
        folder.mkdir(parents=True)
        for i, frame in enumerate(read_video(path, max_frames=3)):
            Image.fromarray(frame).save(folder / f"im{i + 1}.png")
    return root


@pytest.fixture(scope="module")
def fp32_run(frames_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fp32") / "run"
    train_cli.main([*SLIM, f"data={frames_folder}", "steps=1", f"out={out}"])
    return out


def test_bf16_trains_on_the_cpu(frames_folder, fp32_run, tmp_path):
    out = tmp_path / "bf16"
    train_cli.main([*SLIM, f"data={frames_folder}", "steps=1", "precision=bf16", f"out={out}"])
    bf16, fp32 = read_log(out), read_log(fp32_run)
    assert [int(r["step"]) for r in bf16] == [1]
    assert all(math.isfinite(v) for v in bf16[0].values()), bf16
    # the same weights, samples and noise: the figures differ by bf16's rounding only
    for key in ("loss", "bpp", "mse"):
        assert bf16[0][key] == pytest.approx(fp32[0][key], rel=0.02), key
    state = torch.load(out / "checkpoints" / "step_00000001.pt", weights_only=False)
    weights = state["modules"]["model"]
    assert all(v.dtype == torch.float32 for v in weights.values() if v.is_floating_point())  # fp32 master
    assert "scaler" not in state


def test_fp16_scales_the_loss(frames_folder, tmp_path):
    out = tmp_path / "fp16"
    train_cli.main([*SLIM, f"data={frames_folder}", "steps=1", "precision=fp16", f"out={out}"])
    state = torch.load(out / "checkpoints" / "step_00000001.pt", weights_only=False)
    assert state["scaler"]["scale"] > 0  # the GradScaler's state is checkpointed for resume
    assert all(math.isfinite(v) for v in read_log(out)[0].values())
    assert Runtime(precision="fp16").grad_scaler().is_enabled()
    assert not Runtime(precision="bf16").grad_scaler().is_enabled()


def test_likelihoods_stay_fp32_under_autocast():
    """Convolutions run in bf16; the quantised latents and the likelihoods in fp32."""
    torch.manual_seed(0)
    model = load_space("slimvc").codec().train()
    ref, x = torch.rand(2, 1, 3, 48, 48)
    with torch.no_grad(), Runtime(precision="bf16").autocast():
        out = model(ref, x)
    for part, named in out["likelihoods"].items():
        for name, likelihood in named.items():
            assert likelihood.dtype == torch.float32, (part, name)
            assert torch.isfinite(likelihood).all() and (likelihood > 0).all(), (part, name)
    assert out["x_hat"].dtype == torch.bfloat16  # the convolutions did run in bf16


def test_deformable_convolution_runs_in_fp32_under_autocast():
    """FVC's deformable convolution (torchvision's CPU kernel has no bf16) leaves autocast for fp32."""
    from search.nn.layers import SlimDeformConv2d

    torch.manual_seed(0)
    layer = next(m for m in load_space("fvc").codec().modules() if isinstance(m, SlimDeformConv2d))
    x = torch.rand(1, layer.weight.shape[1], 8, 8)
    offsets = torch.rand(1, layer.conv_offset.in_channels, 8, 8)
    with torch.no_grad():
        expected = layer(x, offsets)
        with Runtime(precision="bf16").autocast():
            got = layer(x, offsets)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=0.05, rtol=0.05)  # its offsets came from a bf16 conv


# ----------------------------------------------------------------------------------- compile

def test_compile_wraps_the_model_and_gives_the_same_forward():
    torch.manual_seed(0)
    tiny = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 3, 3, padding=1))
    x = torch.rand(2, 3, 16, 16)
    compiled = Runtime(compile=True).wrap(tiny)
    assert compiled is not tiny and isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule)
    torch.testing.assert_close(compiled(x), tiny(x), atol=1e-5, rtol=1e-5)
    assert Runtime().wrap(tiny) is tiny  # fp32, one process, no compile: the module itself


def test_entropy_parameter_networks_stay_fp32_under_autocast():
    """Under bf16 autocast the hyper decoders and priors run in fp32 (rates never come from bf16
    scales), while the other convolutions run in bf16."""
    torch.manual_seed(0)
    model = load_space("slimvc").codec().eval()
    hooked = keep_entropy_fp32(model)
    assert hooked and all(ENTROPY_MODULES.search(name.split(".")[-1]) for name in hooked)
    dtypes: dict[str, torch.dtype] = {}

    def record(name):
        def hook(module, args, out):
            dtypes.setdefault(name, (out[0] if isinstance(out, (tuple, list)) else out).dtype)
        return hook

    for name, module in model.named_modules():
        if name in hooked:
            module.register_forward_hook(record(name))
    ref, x = torch.rand(2, 1, 3, 48, 48)
    with torch.no_grad(), Runtime(precision="bf16").autocast():
        out = model(ref, x)
    assert dtypes and set(dtypes.values()) == {torch.float32}, dtypes
    assert out["x_hat"].dtype == torch.bfloat16  # the rest did run in bf16


def test_precision_sets_tf32_explicitly():
    """fp32 is fp32 (TF32 off, whatever torch's default on the GPU); tf32 is asked for by name."""
    from search.config import RuntimeConfig

    start_runtime(RuntimeConfig(device="cpu", precision="tf32"), distributed=False)
    assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    start_runtime(RuntimeConfig(device="cpu", precision="fp32"), distributed=False)
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32


# ------------------------------------------------------- placement: every module on the runtime's device

class Placement:
    """A global forward pre-hook that records, for every module run, the devices of its parameters
    and tensor inputs; on the ``meta`` device (the one other device every machine has) a codec runs
    its convolutions, so code that leaves a module or a tensor behind on the CPU shows here."""

    def __init__(self):
        self.seen: list[tuple[str, set[str]]] = []

    def __enter__(self):
        from torch.nn.modules.module import register_module_forward_pre_hook

        def record(module, args):
            devices = {p.device.type for p in module.parameters(recurse=False)}
            devices |= {a.device.type for a in args if isinstance(a, torch.Tensor)}
            self.seen.append((type(module).__name__, devices))

        self.handle = register_module_forward_pre_hook(record)
        return self

    def __exit__(self, *exc):
        self.handle.remove()

    def elsewhere(self, device: str) -> list[tuple[str, set[str]]]:
        return [(name, devices) for name, devices in self.seen if devices - {device}]


def _run_until_meta_stops(call) -> None:
    """Run ``call`` until the meta device cannot go on (reading a figure, entropy coding)."""
    try:
        call()
    except (NotImplementedError, RuntimeError, ValueError, TypeError) as err:
        print("stopped:", type(err).__name__, str(err).splitlines()[0])


def test_evaluation_moves_the_i_frame_codec_and_its_cache_to_the_model(tiny_test_set, monkeypatch):
    """The main job's verdict fine-tunes on the runtime's device and evaluates there: the I-frame codec
    and the I-frames it coded earlier (on the CPU) must follow the P-frame codec. (The figures of a
    frame cannot be read on the meta device: they are replaced by a recorder of where their inputs
    are, so that the P-frame after a cached I-frame runs too.)"""
    from compressai.zoo import cheng2020_anchor

    import search.evaluation.coding as coding

    from search.data import open_test_set
    from search.evaluation import Protocol, evaluate
    from search.intra import IntraCodec

    sequences = open_test_set(str(tiny_test_set))
    protocol = Protocol.of(EvalConfig(gop_size=2, max_gops=1, bitstream=False))
    model = codec_at_layout(load_space("dvc"), load_space("dvc").full_layout()).to("meta")
    intra = IntraCodec(cheng2020_anchor(quality=1), "cheng2020-anchor", 1, "quick", "test")
    with Placement() as placement:
        _run_until_meta_stops(lambda: evaluate(model, sequences, protocol, intra, progress=False))
    assert len(placement.seen) > 3 and not placement.elsewhere("meta"), placement.elsewhere("meta")[:3]
    # an I-frame cached from a CPU run, then a P-frame on the meta device
    monkeypatch.setattr(coding, "quality", lambda decoded, frame, *args: placement.seen.append(
        ("figures", {decoded.device.type, frame.rgb.device.type})) or {"psnr": 0.0, "ms_ssim": 0.0})
    sequence, cpu_intra = sequences[0], IntraCodec(cheng2020_anchor(quality=1), "cheng2020-anchor", 1,
                                                   "quick", "test")
    cache = {(sequence.name, str(sequence.path), 0, (1, 3, 64, 64)): (torch.rand(1, 3, 64, 64), 800)}
    with Placement() as placement:
        _run_until_meta_stops(lambda: evaluate(model, sequences, protocol, cpu_intra, progress=False,
                                               intra_cache=cache))
    ran = [name for name, _ in placement.seen]
    assert ran[0] == "figures" and len(ran) > 3, ran  # the I-frame's figures, then the P-frame's modules
    assert not placement.elsewhere("meta"), placement.elsewhere("meta")[:3]


def test_search_eval_codes_on_the_configured_device(tiny_test_set, tmp_path, monkeypatch):
    """``search.eval device=...`` builds the codec on the CPU (the checkpoint's device) and must move it
    to the configured device before coding."""
    import search.pipeline.job as job_module

    monkeypatch.setattr(job_module, "start_runtime",
                        lambda cfg, distributed=True: Runtime(device=torch.device("meta")))
    with Placement() as placement:
        _run_until_meta_stops(lambda: eval_cli.main(["space=dvc", f"data={tiny_test_set}", "intra=pristine",
                                                     "bitstream=false", "gop_size=2", "max_gops=1",
                                                     f"out={tmp_path / 'eval'}"]))
    assert len(placement.seen) > 3 and not placement.elsewhere("meta"), placement.elsewhere("meta")[:3]


def test_compile_runs_a_real_codec_training_step(tmp_path):
    """torch.compile around a real codec's training step (SlimVC, one step at 48x48): it trains and
    gives a finite loss."""
    out = tmp_path / "compiled"
    train_cli.main([*SLIM, "steps=1", "compile=true", f"out={out}"])
    log = read_log(out)
    assert [int(r["step"]) for r in log] == [1] and math.isfinite(log[0]["loss"])


# ------------------------------------------------------------------------------------ on a GPU

@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_the_gpu(precision, tmp_path):
    out = tmp_path / precision
    train_cli.main(["space=dcvc", "crop=64", "batch=2", "steps=2", "seed=0", "device=cuda",
                    f"precision={precision}", f"out={out}"])
    log = read_log(out)
    assert [int(r["step"]) for r in log] == [1, 2] and all(math.isfinite(r["loss"]) for r in log)
    state = torch.load(out / "checkpoints" / "step_00000002.pt", weights_only=False)
    assert state["modules"]["model"][next(iter(state["modules"]["model"]))].device.type == "cuda"


@pytest.mark.cuda
@pytest.mark.parametrize("codec", ["dvc", "fvc", "dcvc", "slimvc"])
def test_encode_and_decode_on_the_gpu(codec):
    """A bitstream written on a GPU decodes on the same GPU to the forward pass's reconstruction.
    (Decoding it on a CPU may fail: the entropy parameters come from other arithmetic.)"""
    space = load_space(codec)
    torch.manual_seed(0)
    model = codec_at_layout(space, space.full_layout()).to("cuda")
    update_all(model, force=True)
    crop = 96 if codec == "slimvc" else 64
    ref, x = torch.rand(2, 1, 3, crop, crop, device="cuda")
    with torch.no_grad():
        expected = model(ref, x)["x_hat"]
    compressed = model.compress(ref, x)
    decoded = model.decompress(ref, compressed)["x_hat"]
    assert decoded.device.type == "cuda"
    torch.testing.assert_close(decoded, expected, atol=1e-4, rtol=0)
