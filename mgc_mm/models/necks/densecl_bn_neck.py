from typing import List, Optional, Union

from mmcv.cnn import build_norm_layer
from mmpretrain.models.necks import DenseCLNeck
from torch import nn

from mgc_mm.registry import MODELS
from ..utils.mlp import norm_1d_cfg


@MODELS.register_module()
class DenseCLBNNeck(DenseCLNeck):
    """mmpretrain's :class:`DenseCLNeck` with a norm layer after each hidden layer:
    fc-norm-relu-fc (global) and conv-norm-relu-conv (dense), MoCo v3's / SimCLR's
    projector shape.

    Without it, the projections of a randomly initialised encoder share one dominant
    direction (pooled ReLU features are all positive): measured on the MoCo v2 demo, the
    mean cosine between the embeddings of different images is 0.956 at init and 0.9999
    after 120 steps, its InfoNCE then sits at chance. The norm layer removes the
    batch's common component before the last layer. On DSC's ViT-S the plain neck's
    embeddings did not collapse, yet only the normed one beat random init on the
    dense probe in 120 steps (README). The forward and its three outputs
    are DenseCLNeck's, so DSC / DenseCL use it unchanged.

    Args:
        in_channels (int): input channels.
        hid_channels (int): hidden channels.
        out_channels (int): output channels.
        num_grid (int, optional): pool the dense map to this grid. Defaults to None.
        norm_cfg (dict): norm of the hidden layers, ``'BN'`` / ``'SyncBN'``; the
            global branch takes its 1-D form. Defaults to ``dict(type='SyncBN')``.
        init_cfg (dict | list[dict], optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_grid: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(in_channels, hid_channels, out_channels, num_grid=num_grid,
                         init_cfg=init_cfg)
        norm_cfg = dict(type='SyncBN') if norm_cfg is None else dict(norm_cfg)
        # The bias before a norm layer is cancelled by its centring: none.
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels, bias=False),
            build_norm_layer(norm_1d_cfg(norm_cfg), hid_channels)[1], nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))
        self.mlp2 = nn.Sequential(
            nn.Conv2d(in_channels, hid_channels, 1, bias=False),
            build_norm_layer(norm_cfg, hid_channels)[1], nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1))
