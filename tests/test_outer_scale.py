"""The outer search at scale: any RDB storage URL, several worker processes, heartbeats that fail and
retry the trial of a killed worker, and Ray Tune on a two-node cluster (one node with a logical GPU)."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from search.config import OuterConfig
from search.errors import BadInput
from search.outer import STUDY_NAME, run_study

from test_outer import SETUP

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def setup():
    names: dict = {}
    exec(SETUP, names)
    space, complexity = names["space"], names["complexity"]
    uniform = [complexity.gmacs(space.uniform_layout(i)) for i in range(3)]
    return space, complexity, names["scorer"], [(uniform[0] + uniform[1]) / 2]


def _trials(url: str):
    return optuna.load_study(study_name=STUDY_NAME, storage=url).get_trials(deepcopy=False)


def test_any_storage_url_and_two_worker_processes(setup, tmp_path):
    space, complexity, scorer, targets = setup
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = run_study(scorer, space, complexity, targets, tmp_path / "run",
                       OuterConfig(trials=16, workers=2, storage=url, bands=False), progress=False)
    assert len(result.trials) == 16 and result.trials["params"].is_unique
    assert not (tmp_path / "run" / "study.db").exists()  # the study is where storage= says
    done = [t for t in _trials(url) if t.state == optuna.trial.TrialState.COMPLETE]
    owners = {t.user_attrs["owner"] for t in done}
    assert len(done) == 16 and len(owners) == 2  # both worker processes scored trials


def test_a_killed_worker_leaves_its_trial_to_the_heartbeat(setup, tmp_path):
    """A process hangs in a trial and is killed; the next run fails the trial (at once: its process of
    this host is gone; on another host, by its stale heartbeat) and runs it again (Optuna's
    RetryFailedTrialCallback)."""
    space, complexity, scorer, targets = setup
    out = tmp_path / "run"
    script = SETUP + textwrap.dedent(f"""
        import sys, time
        from search.config import OuterConfig
        from search.outer.loop import run_loop
        from search.outer.study import Study
        study = Study(__import__("pathlib").Path(sys.argv[1]), space, complexity, {targets!r}, 0, "tpe")
        class Hang:
            def __call__(self, layout):
                print("scoring", flush=True)
                time.sleep(600)
        run_loop(study, Hang(), 4, None)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "scoring"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    start = time.perf_counter()
    result = run_study(scorer, space, complexity, targets, out, OuterConfig(trials=4, bands=False),
                       progress=False)
    assert time.perf_counter() - start < 120
    trials = _trials(f"sqlite:///{out / 'study.db'}")
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retried) == 1 and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert retried[0].params == failed[0].params
    assert len(result.trials) == 4


def test_bad_outer_settings(setup, tmp_path):
    space, complexity, scorer, targets = setup
    for cfg, word in [(OuterConfig(workers=0), "workers"), (OuterConfig(storage="study.db"), "storage"),
                      (OuterConfig(gpus_per_trial=-1), "gpus_per_trial"),
                      (OuterConfig(workers=2, backend="ray"), "workers")]:
        with pytest.raises(BadInput, match=word):
            run_study(scorer, space, complexity, targets, tmp_path / "x", cfg, progress=False)
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def cluster():
    """A head node (1 CPU) and a worker node (1 CPU, one logical GPU), on this machine."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1, num_gpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


def test_ray_two_nodes(setup, cluster, tmp_path):
    import ray

    space, complexity, scorer, targets = setup
    cfg = OuterConfig(trials=4, backend="ray", ray_address=cluster.address, bands=False)
    result = run_study(scorer, space, complexity, targets, tmp_path / "cpu", cfg, progress=False)
    assert len(result.trials) == 4 and result.new_trials == 4  # as many as the Optuna backend finishes
    assert len(set(result.trials["node"])) == 2  # trials landed on both nodes
    gpu = OuterConfig(trials=2, backend="ray", ray_address=cluster.address, gpus_per_trial=0.5,
                      bands=False)
    result = run_study(scorer, space, complexity, targets, tmp_path / "gpu", gpu, progress=False)
    ray.init(address=cluster.address)
    try:
        gpu_nodes = {n["NodeID"] for n in ray.nodes() if n["Resources"].get("GPU")}
    finally:
        ray.shutdown()
    assert len(result.trials) == 2 and set(result.trials["node"]) == gpu_nodes


def test_a_wrong_ray_address_is_one_line_before_any_training(tmp_path):
    done = subprocess.run([sys.executable, "-m", "search.run", "space=dvc", "target_gmacs=[300]",
                           "backend=ray", "ray_address=127.0.0.1:1", f"out={tmp_path / 'never'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert "ray_address" in lines[-1] and "Traceback" not in done.stderr
    assert "stage 1" not in done.stderr and not (tmp_path / "never").exists()
