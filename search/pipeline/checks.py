"""What the main job reads after training, checked before any: the outer loop's settings, the
validation batches, the fine-tuning steps, the test set, the selector and (``backend=ray``) the Ray
cluster. A wrong value is one line before minutes (on a GPU, hours) of training, not after."""
from __future__ import annotations

from ..errors import BadInput
from ..outer import check_outer
from ..stage2 import selector_named


def check_search(cfg, space=None) -> None:
    """The outer search's, the verdict's and the export's settings, and (``backend=ray``) the Ray
    cluster, before any training: nothing that trains first may fail on them afterwards."""
    check_outer(cfg.outer)
    check_verdict(cfg, space)
    if not selector_named(cfg.supernet.selector).shares_weights:
        raise BadInput(f"selector={cfg.supernet.selector}: the main job's outer search scores any layout "
                       f"with shared weights, which this selector does not leave; it runs in stage 2 "
                       f"alone (python -m search.supernet ... selector={cfg.supernet.selector})")
    if cfg.outer.backend == "ray":
        from ..outer.ray_backend import check_ray

        check_ray(cfg.outer, cfg.verbose)


def check_verdict(cfg, space=None) -> None:
    """What the outer loop and the verdict read after training: the validation crops and batches, the
    fine-tuning steps and the test sequences (opened now: a missing or unreadable test set is one line
    before training, not after)."""
    crop = cfg.outer.val_crop or cfg.training.crop
    multiple = space.codec.MULTIPLE if space is not None else 1
    if cfg.outer.val_count < 1:
        raise BadInput(f"val_count={cfg.outer.val_count}: expected at least 1 validation pair")
    if crop < 1 or crop % multiple:
        raise BadInput(f"val_crop={crop}: expected a positive multiple of the codec's {multiple}")
    steps = cfg.outer.finetune_steps
    if steps is None or isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise BadInput(f"finetune_steps={steps!r}: expected a whole number >= 0 (0: no fine-tuning)")
    rate = cfg.outer.finetune_lr
    if rate is not None and (isinstance(rate, bool) or not float(rate) > 0):
        raise BadInput(f"finetune_lr={rate!r}: expected a learning rate > 0 (unset: a tenth of lr)")
    if cfg.eval.max_gops != 0:
        from ..data import open_test_set
        from ..evaluation import Protocol

        if not open_test_set(cfg.eval.data, Protocol.of(cfg.eval).yuv):
            raise BadInput(f"test_data={cfg.eval.data}: no test sequences")
