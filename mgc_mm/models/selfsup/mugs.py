from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.models import BaseSelfSupervisor, CosineEMA, VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.structures import DataSample
from torch import nn

from mgc_mm.registry import MODELS
from ..utils.ema import cosine_ema_momentum

LOSS_NAMES = ('ids', 'lgds', 'gds')


def vit_tokens(backbone: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """All tokens ``(N, 1 + P, D)`` of an mmpretrain ViT after its last block and
    before its final norm (``backbone.ln1``); the same computation as
    ``VisionTransformer.forward`` up to there, for any input size (the position
    embedding is resized as the backbone does it)."""
    n = x.shape[0]
    x, patch_resolution = backbone.patch_embed(x)
    x = torch.cat((backbone.cls_token.expand(n, -1, -1), x), dim=1)
    x = x + resize_pos_embed(backbone.pos_embed, backbone.patch_resolution, patch_resolution,
                             mode=backbone.interpolate_mode,
                             num_extra_tokens=backbone.num_extra_tokens)
    x = backbone.pre_norm(backbone.drop_after_pos(x))
    for layer in backbone.layers:
        x = layer(x)
    return x


def disable_dropout(module: nn.Module) -> None:
    """Set every drop path and dropout of ``module`` to probability 0."""
    for m in module.modules():
        if hasattr(m, 'drop_prob'):  # mmcv / mmpretrain / timm DropPath
            m.drop_prob = 0.
        elif isinstance(m, nn.Dropout):
            m.p = 0.


@MODELS.register_module()
class Mugs(BaseSelfSupervisor):
    """Mugs: multi-granular self-supervised learning (``specs/mugs.md``).

    Zhou et al., `Mugs: A Multi-Granular Self-Supervised Learning Framework
    <https://arxiv.org/abs/2203.14415>`_. A ViT student and its cosine-EMA teacher
    (``momentum_encoder``: backbone and the three projectors, no predictors, no drop
    path) learn at three granularities: instance (IDS, :class:`MugsInstanceHead`),
    local group (LGDS, :class:`MugsLocalGroupHead`) and group (GDS,
    :class:`MugsGroupHead`).

    Views (``inputs``): ``G`` teacher global crops, ``G`` student global crops of
    the same size, then any number (>= 0) of local crops of one smaller size; each
    data sample has ``weak_aug``, a ``(num_views,)`` bool tensor (True = weakly
    augmented), of which the student global crops' flags choose what enters the
    student memory. A step runs the teacher on the teacher crops and the student
    on its global and local crops (two forwards, one per size).

    Per image and crop the backbone gives the CLS token after the final norm (IDS
    and GDS input), the token mean before it (LGDS query, CLS included) and the
    patch-token mean after it (the memory entry). Losses, per spec §3, averaged over
    the crop pairs of :func:`multi_crop_average`; ``loss_<name>`` is the loss times
    its multiplier, so that their sum (what mmengine optimises) with the default
    multipliers (1/3 each) is the paper's mean of the three.

    Args:
        backbone (dict): mmpretrain ``VisionTransformer`` config (with CLS token and
            final norm); its drop path is the student's, the teacher has none.
        ids_head (dict): :class:`MugsInstanceHead` config.
        lgds_head (dict): :class:`MugsLocalGroupHead` config.
        gds_head (dict): :class:`MugsGroupHead` config.
        loss_weights (dict, optional): multipliers ``{'ids', 'lgds', 'gds'}``;
            missing keys default to 1/3.
        num_global_crops (int): ``G``. Defaults to 2.
        include_same_view (bool): also pair student global ``t`` with teacher crop
            ``t`` (different crops in Mugs; the reference drops them, spec §5).
            Defaults to False.
        base_momentum (float): start of the cosine EMA schedule in mmpretrain's
            convention (``1 - m``): 0.004 gives ``m = 0.996``. Defaults to 0.004.
        end_momentum (float): its end; 0 gives ``m = 1``. Defaults to 0.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 ids_head: dict,
                 lgds_head: dict,
                 gds_head: dict,
                 loss_weights: Optional[Dict[str, float]] = None,
                 num_global_crops: int = 2,
                 include_same_view: bool = False,
                 base_momentum: float = 0.004,
                 end_momentum: float = 0.,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        bb = self.backbone
        if not isinstance(bb, VisionTransformer) or bb.cls_token is None or not bb.final_norm:
            raise TypeError('Mugs needs an mmpretrain VisionTransformer with a CLS token '
                            'and a final norm')
        self.ids_head = MODELS.build(ids_head)
        self.lgds_head = MODELS.build(lgds_head)
        self.gds_head = MODELS.build(gds_head)
        weights = dict(loss_weights or {})
        unknown = set(weights) - set(LOSS_NAMES)
        if unknown:
            raise KeyError(f'unknown loss_weights {sorted(unknown)}; use {LOSS_NAMES}')
        self.loss_weights = {k: float(weights.get(k, 1. / 3)) for k in LOSS_NAMES}
        if num_global_crops < 1:
            raise ValueError(f'num_global_crops must be >= 1, got {num_global_crops}')
        self.num_global_crops = num_global_crops
        self.include_same_view = include_same_view
        # CosineEMA deep-copies the student modules, drop path included; the teacher
        # is a deterministic target (spec §2: drop path 0), so switch it off there.
        # CosineEMA copies the weights exactly on its first update.
        self.momentum_encoder = CosineEMA(
            self._online_encoder(), momentum=base_momentum, end_momentum=end_momentum)
        disable_dropout(self.momentum_encoder)

    def _online_encoder(self) -> nn.ModuleDict:
        # A view of the student's modules the teacher averages, with its key names.
        return nn.ModuleDict(dict(backbone=self.backbone, ids_projector=self.ids_head.projector,
                                  lgds_projector=self.lgds_head.projector,
                                  gds_projector=self.gds_head.projector))

    def current_momentum(self) -> float:
        """EMA coefficient ``m`` (``p_t <- m p_t + (1 - m) p_o``) of the last update."""
        return cosine_ema_momentum(self.momentum_encoder)

    def combine_losses(self, values: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``loss_<name>`` = multiplier × loss, for the three losses."""
        return {f'loss_{k}': self.loss_weights[k] * values[k] for k in LOSS_NAMES}

    def embed(self, net: nn.Module, x: torch.Tensor, teacher: bool) -> Dict[str, torch.Tensor]:
        """Projections of a batch of crops by the student or the teacher modules.

        Returns:
            dict: ``ids`` / ``lgds`` unit rows, ``gds`` prototype logits, ``memory``
            (patch-token mean after the final norm, detached).
        """
        tokens = vit_tokens(net.backbone, x)
        normed = net.backbone.ln1(tokens)
        cls = normed[:, 0]
        query = tokens.mean(1)
        neighbours = self.lgds_head.neighbours(query, teacher=teacher)
        return dict(ids=net.ids_projector(cls),
                    lgds=net.lgds_projector(query, neighbours, net.backbone.ln1),
                    gds=net.gds_projector(cls),
                    memory=normed[:, 1:].mean(1).detach())

    def check_views(self, inputs: Sequence[torch.Tensor],
                    data_samples: Sequence[DataSample]) -> torch.Tensor:
        """Validate the view layout; returns the ``(B, num_views)`` weak flags."""
        g = self.num_global_crops
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2 * g:
            got = len(inputs) if isinstance(inputs, (list, tuple)) else type(inputs).__name__
            raise ValueError(f'Mugs expects a list of >= {2 * g} views ({g} teacher global, '
                             f'{g} student global, then local crops), got {got}')
        shapes = [tuple(v.shape) for v in inputs]
        if len(set(shapes[:2 * g])) != 1:
            raise ValueError(f'the {2 * g} global views differ in shape: {shapes[:2 * g]}')
        if len(set(shapes[2 * g:])) > 1:
            raise ValueError(f'the local views differ in shape: {shapes[2 * g:]}')
        if data_samples is None or len(data_samples) != shapes[0][0] or not all(
                'weak_aug' in s for s in data_samples):
            raise ValueError('every data sample needs `weak_aug` (one bool per view): pack '
                             "it with PackInputs(algorithm_keys=['weak_aug'])")
        weak = torch.stack([torch.as_tensor(s.weak_aug) for s in data_samples])
        if weak.shape != (len(data_samples), len(inputs)):
            raise ValueError(f'weak_aug has {weak.shape[1:]} flags per sample for '
                             f'{len(inputs)} views')
        return weak.to(device=inputs[0].device, dtype=torch.bool)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The three Mugs losses of a batch.

        Args:
            inputs (list[Tensor]): ``G`` teacher global, ``G`` student global and
                ``L >= 0`` local crops, ``(B, 3, H, W)`` each.
            data_samples (list[DataSample]): with ``weak_aug`` ``(G + G + L,)``.

        Returns:
            dict: ``loss_ids``, ``loss_lgds``, ``loss_gds`` (weighted) and the logged
            scalars ``teacher_temp`` and ``ema_momentum``.
        """
        weak = self.check_views(inputs, data_samples)
        g = self.num_global_crops
        student_views = [torch.cat(inputs[g:2 * g])]
        if len(inputs) > 2 * g:
            student_views.append(torch.cat(inputs[2 * g:]))
        online = self._online_encoder()
        parts = [self.embed(online, v, teacher=False) for v in student_views]
        num_crops = [v.shape[0] // weak.shape[0] for v in student_views]
        # per output, one (B, ...) tensor per student crop: globals, then locals
        student = {k: [c for p, n in zip(parts, num_crops) for c in p[k].chunk(n)]
                   for k in parts[0]}

        with torch.no_grad():
            self.momentum_encoder.update_parameters(self._online_encoder())
            out = self.embed(self.momentum_encoder.module, torch.cat(inputs[:g]), teacher=True)
            teacher = {k: list(v.chunk(g)) for k, v in out.items()}

        same = self.include_same_view
        values = dict(
            ids=self.ids_head.loss([self.ids_head.predictor(z) for z in student['ids']],
                                   teacher['ids'], same),
            lgds=self.lgds_head.loss([self.lgds_head.predictor(z) for z in student['lgds']],
                                     teacher['lgds'], same),
            gds=self.gds_head.loss(student['gds'], teacher['gds'], same))
        # After the terms: this step's neighbours came from the memories before it.
        self.lgds_head.update_memories(teacher['memory'], student['memory'][:g],
                                       list(weak[:, g:2 * g].t()))
        losses = self.combine_losses(values)
        device = inputs[0].device
        losses['teacher_temp'] = torch.tensor(self.gds_head.teacher_temp, device=device)
        losses['ema_momentum'] = torch.tensor(self.current_momentum(), device=device)
        return losses
