import os.path as osp
from typing import Dict, Optional

from mmpretrain.registry import HOOKS
from torch import nn

from mgc_mm.evaluation import KNNEval, knn_splits
from .backbone_eval_hook import BackboneEvalHook


@HOOKS.register_module()
class KNNMonitorHook(BackboneEvalHook):
    """Weighted kNN accuracy of the backbone being pretrained, every ``interval`` epochs.

    So that a user sees learning progress, not only a falling loss: on a small
    ImageNet-layout folder (``data_root/train/<class>/*`` as memory,
    ``data_root/val/<class>/*`` as queries) the frozen backbone's global features
    (ViT class token, ResNet average-pooled C5) are classified by the DINO weighted
    kNN (:class:`mgc_mm.evaluation.KNNEval`). ``top1`` and ``top5`` (fractions in
    ``[0, 1]``) are logged like a loss:

    * message hub scalars ``knn/top1`` and ``knn/top5``,
    * the visualizer's backends (``vis_data/scalars.json``, TensorBoard, ...) at
      ``step = runner.iter``,
    * one log line.

    The backbone is taken from the unwrapped model (``runner.model.module`` under
    DDP; ``branch='momentum'`` for the target backbone), runs in eval mode without
    gradients (ViTs switched to the ``out_type`` the pool needs, for the evaluation
    only) and gets its mode back afterwards. The global torch / NumPy / Python random
    state is not touched (no random op; the dataloaders have their own generator), so a
    run with the hook trains exactly like one without it. Under ``torch.distributed``
    every rank extracts the features of its share of the images, rank 0 votes and
    broadcasts the figures, so every rank logs the same values.

    Args:
        data_root (str): the classification folder; relative ``train_dir`` /
            ``val_dir`` are joined to it.
        train_dir (str): memory images. Defaults to 'train'.
        val_dir (str): query images. Defaults to 'val'.
        interval (int): evaluate every ``interval`` epochs (iterations with
            ``by_epoch=False``), and after the last one. Defaults to 1.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        branch (str): ``'online'`` or ``'momentum'``. Defaults to 'online'.
        k (int): neighbours. Defaults to 20.
        temperature (float): vote temperature. Defaults to 0.07.
        input_size (int): side of the centre crop. Defaults to 224.
        pool (str): ``'auto'``, ``'cls'`` or ``'avg'`` (see :class:`KNNEval`).
        batch_size (int): images per forward. Defaults to 32.
        num_workers (int): dataloader workers. Defaults to 0.
        max_train / max_val (int, optional): strided subsets of the splits.
        eval_before_train (bool): also evaluate the initial weights (step 0).
            Defaults to False.
    """

    prefix = 'knn'
    title = 'kNN'
    logged = ('top1', 'top5')

    def __init__(self,
                 data_root: str,
                 train_dir: str = 'train',
                 val_dir: str = 'val',
                 interval: int = 1,
                 by_epoch: bool = True,
                 branch: str = 'online',
                 k: int = 20,
                 temperature: float = 0.07,
                 input_size: int = 224,
                 pool: str = 'auto',
                 batch_size: int = 32,
                 num_workers: int = 0,
                 max_train: Optional[int] = None,
                 max_val: Optional[int] = None,
                 eval_before_train: bool = False) -> None:
        super().__init__(interval, by_epoch, branch, eval_before_train)
        self.train_dir = osp.join(data_root, train_dir)
        self.val_dir = osp.join(data_root, val_dir)
        self.max_train, self.max_val = max_train, max_val
        self.knn_cfg = dict(k=k, temperature=temperature, input_size=input_size, pool=pool,
                            batch_size=batch_size, num_workers=num_workers, progress=False)
        KNNEval([], [], num_classes=1, **self.knn_cfg)  # check the arguments now
        self.knn: Optional[KNNEval] = None

    def before_train(self, runner) -> None:
        # A missing or malformed folder stops the run at start, with the folder named.
        train, val, classes = knn_splits(None, self.train_dir, self.val_dir, self.max_train,
                                         self.max_val)
        self.knn = KNNEval(train, val, num_classes=len(classes), **self.knn_cfg)
        runner.logger.info(f'kNN monitor: {len(train)} train and {len(val)} val images of '
                           f'{len(classes)} classes from {osp.dirname(self.train_dir)}, '
                           f'every {self.interval} '
                           f'{"epoch" if self.by_epoch else "iteration"}(s)')
        if self.eval_before_train:
            self._probe(runner, 'before training')

    def evaluate(self, backbone: nn.Module) -> Optional[Dict[str, float]]:
        return self.knn.run(backbone)

    def describe(self, figures: Dict[str, float]) -> str:
        return (f'k={figures["k"]}, {figures["num_train_images"]} train / '
                f'{figures["num_val_images"]} val images')
