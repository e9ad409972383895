import os.path as osp
from typing import Dict, Optional, Sequence

from mmpretrain.registry import HOOKS
from torch import nn

from mgc_mm.evaluation import (MEASUREMENTS, DenseProbe, backbone_out_type,
                               find_labeled_images, split_labeled_images)
from .backbone_eval_hook import BackboneEvalHook

# What is logged: the measurements, not the bookkeeping counts.
_LOGGED = ('linear_mIoU', 'retrieval_mIoU', 'cross_view_top1', 'cross_view_top5')


@HOOKS.register_module()
class DenseProbeHook(BackboneEvalHook):
    """Dense probes of the backbone being pretrained, every ``interval`` epochs.

    The live signal that a dense method learns something, not only that its loss
    falls: on a small labeled segmentation folder, the frozen backbone's patch
    features are scored with :class:`mgc_mm.evaluation.DenseProbe` (linear-probe and
    nearest-neighbour retrieval mIoU, cross-view consistency). The figures (fractions
    in ``[0, 1]``) go to

    * the message hub as scalars ``dense_probe/<name>`` (e.g.
      ``dense_probe/retrieval_mIoU``),
    * the visualizer's backends (``vis_data/scalars.json``, TensorBoard, ...) at
      ``step = runner.iter``,
    * the log, as one line.

    The backbone is taken from the unwrapped model (``runner.model.module`` under
    DDP): the online one (``model.backbone``) or, with ``branch='momentum'``, the
    target (``model.momentum_encoder.module.backbone``). It runs in eval mode without
    gradients and gets its mode back afterwards; ViTs are switched to
    ``out_type='featmap'`` for the probe only. The probe does not touch the global
    torch / NumPy random state, so a run with the hook trains exactly like one
    without it.

    Distributed training: every rank extracts the features of its share of the
    images (the folder is split over ranks), rank 0 gathers them and computes the
    figures, and broadcasts them to all ranks, so every rank logs the same values.
    All ranks must therefore run the hook (they do: hooks run everywhere).

    Args:
        data_root (str): root of the labeled folder; relative ``img_dir`` /
            ``ann_dir`` are joined to it.
        img_dir (str): images. Defaults to 'train2017'.
        ann_dir (str): PNG class-index masks with the images' stems.
            Defaults to 'annotations/semantic_train2017'.
        interval (int): probe every ``interval`` epochs (iterations with
            ``by_epoch=False``), and after the last one. Defaults to 1.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        measurements (tuple[str]): any of ``'linear'``, ``'retrieval'``,
            ``'cross_view'``. Defaults to all three.
        branch (str): ``'online'`` or ``'momentum'``. Defaults to 'online'.
        val_fraction (float): share of the images in the val split. Defaults to 0.25.
        reduce_zero_label (bool): 0 = unlabeled (ADE20K / bundled COCO layout).
        num_classes (int, optional): defaults to the largest label + 1.
        input_size (int): side of the square input. Defaults to 224.
        k (int): retrieval neighbours. Defaults to 30.
        temperature (float): retrieval temperature. Defaults to 0.02.
        batch_size (int): images per forward. Defaults to 16.
        seed (int): seed of the split, the crops and the linear probe.
        probe_before_train (bool): also probe the initial weights before training
            (logged at step 0). Defaults to False.
        probe_kwargs (dict, optional): other :class:`DenseProbe` arguments
            (``label_mode``, ``eval_resolution``, ``linear_cfg``, ``num_workers``, ...).
    """

    prefix = 'dense_probe'
    title = 'dense probe'
    logged = _LOGGED

    def __init__(self,
                 data_root: str,
                 img_dir: str = 'train2017',
                 ann_dir: str = 'annotations/semantic_train2017',
                 interval: int = 1,
                 by_epoch: bool = True,
                 measurements: Sequence[str] = MEASUREMENTS,
                 branch: str = 'online',
                 val_fraction: float = 0.25,
                 reduce_zero_label: bool = False,
                 num_classes: Optional[int] = None,
                 input_size: int = 224,
                 k: int = 30,
                 temperature: float = 0.02,
                 batch_size: int = 16,
                 seed: int = 0,
                 probe_before_train: bool = False,
                 probe_kwargs: Optional[dict] = None) -> None:
        super().__init__(interval, by_epoch, branch, probe_before_train)
        self.img_dir = osp.join(data_root, img_dir)
        self.ann_dir = osp.join(data_root, ann_dir)
        self.val_fraction = val_fraction
        self.seed = seed
        self.probe_before_train = probe_before_train
        self.probe_cfg = dict(measurements=tuple(measurements), num_classes=num_classes,
                              input_size=input_size, reduce_zero_label=reduce_zero_label,
                              k=k, temperature=temperature, batch_size=batch_size,
                              seed=seed, progress=False)
        self.probe_cfg.update(probe_kwargs or {})
        DenseProbe([], [], **self.probe_cfg)  # check the arguments now, not epochs later
        self.probe: Optional[DenseProbe] = None

    def before_train(self, runner) -> None:
        # A missing folder stops the run at start, with the folder named.
        train, val = split_labeled_images(
            find_labeled_images(self.img_dir, self.ann_dir), self.val_fraction, self.seed)
        self.probe = DenseProbe(train, val, **self.probe_cfg)
        runner.logger.info(f'dense probe: {len(train)} train and {len(val)} val images from '
                           f'{self.img_dir}, every {self.interval} '
                           f'{"epoch" if self.by_epoch else "iteration"}(s)')
        if self.probe_before_train:
            self._probe(runner, 'before training')

    def evaluate(self, backbone: nn.Module) -> Optional[Dict[str, float]]:
        # ViTs give patch maps for the probe only (mmpretrain reads out_type at forward)
        with backbone_out_type(backbone, 'featmap'):
            return self.probe.run(backbone)

    def describe(self, figures: Dict[str, float]) -> str:
        return f'{figures["num_train_images"]} train / {figures["num_val_images"]} val images'
