import random
from functools import partial

import numpy as np
import torch
from mmengine.dataset.utils import worker_init_fn
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

# Spreads the seeds of consecutive epochs far apart (a prime, < 2**31 / 10**5 epochs).
_EPOCH_STRIDE = 10007


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seeds the random augmentations of every epoch from ``(seed, epoch)``.

    mmengine seeds once, when the runner starts: a resumed run then draws other crops
    and flips than the run it continues, and non-persistent dataloader workers restart
    every epoch from the same seeds. With this hook the random state at the start of
    epoch ``e`` depends only on the run's seed (kept in the checkpoint) and ``e``, so a
    run resumed at an epoch boundary repeats, step for step, what the uninterrupted run
    does, and each epoch draws new augmentations.

    Seeds Python's, NumPy's and torch's generators of the main process (augmentations
    with ``num_workers=0``, drop-path masks) and, through the dataloader's
    ``worker_init_fn``, those of the workers (mmengine's per-rank/per-worker offsets).
    Persistent workers are started once and keep their generators across epochs, so
    with ``persistent_workers=True`` only the main process is reseeded.
    The sampler's shuffle seed is tied to the run's seed too: mmengine's
    ``DefaultSampler`` draws its own seed when the dataloader is built, before
    ``--resume`` restores the run's seed, so a resumed run would otherwise visit the
    images in another order. A seed set in the config's ``sampler`` is kept.
    ``tools/train.py`` adds it to every config that does not have it.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        # Runs after load_or_resume, so runner.seed is the resumed run's seed.
        sampler = getattr(runner.train_loop.dataloader, 'sampler', None)
        sampler_cfg = (runner.cfg.get('train_dataloader') or {}).get('sampler') or {}
        if (sampler is not None and hasattr(sampler, 'seed') and runner.seed is not None
                and sampler_cfg.get('seed') is None):
            sampler.seed = int(runner.seed)

    def before_train_epoch(self, runner) -> None:
        base = runner.seed if runner.seed is not None else 0
        seed = (base + _EPOCH_STRIDE * (runner.epoch + 1)) % (2**31 - 1)
        rank_seed = seed + runner.rank
        random.seed(rank_seed)
        np.random.seed(rank_seed)
        torch.manual_seed(rank_seed)
        loader = runner.train_loop.dataloader
        if getattr(loader, 'num_workers', 0) > 0 and not loader.persistent_workers:
            loader.worker_init_fn = partial(worker_init_fn, num_workers=loader.num_workers,
                                            rank=runner.rank, seed=seed)
