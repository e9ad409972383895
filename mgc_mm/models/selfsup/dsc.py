from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.logging import MessageHub
from mmpretrain.models import BaseSelfSupervisor, CosineEMA
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.structures import DataSample
from torch import nn

from mgc_mm.registry import MODELS
from ..losses.info_nce_loss import InfoNCELoss, global_count
from ..losses.supcon_loss import SupConLoss
from ..utils.correspondence import GrainCorrespondences, sample_correspondences
from ..utils.ema import cosine_ema_momentum
from ..utils.kmeans import KMEANS_INITS, KMEANS_METRICS, distributed_kmeans
from ..utils.queue import FeatureQueue
from ..utils.sinkhorn import sinkhorn

CORRESPONDENCES = ('geometric', 'argmax')
CATEGORY_MODES = ('kmeans', 'prototypes')
PIXEL_NEGATIVES = ('queue', 'batch')


@MODELS.register_module()
class DSC(BaseSelfSupervisor):
    """DSC: Dense Semantic Contrast, **our implementation of the published
    description** (Li et al., "Dense Semantic Contrast for Self-Supervised Visual
    Representation Learning", ACM MM 2021; ``specs/dsc.md``). The authors released
    no code: every choice below not stated in the paper is ours, and results obtained
    with it are ours, not a reproduction.

    Three granularities, on DenseCL's parts (ResNet-50, mmpretrain ``DenseCLNeck``,
    momentum encoder, queues, shuffle-BN). View 1 goes through the online encoder,
    both views through the momentum encoder (one concatenated forward):

    * **instance**: MoCo v2 global InfoNCE, online view-1 vs momentum view-2 global
      embedding, negatives from a queue (:class:`FeatureQueue`, :class:`InfoNCELoss`).
    * **pixel**: InfoNCE between the online view-1 dense embedding at C5 cell ``a``
      and the momentum view-2 dense embedding at its corresponding cell ``c``,
      negatives from DenseCL's second queue of pooled dense embeddings
      (``pixel_negatives='queue'``), or every momentum view-2 cell of the gathered
      batch (``'batch'``: the other cells of the same image, the paper's intra-image
      relations, and those of the other images; MGC's contrast set).
      ``correspondence='geometric'``: the pairs of :func:`grain_correspondences` at
      the C5 grid (grain ``view_size / S``, 32 for 7 × 7 at 224) from the packed
      ``crop_boxes`` / ``crop_flips``; ``'argmax'``: DenseCL's match, each view-1 cell
      to the view-2 cell of most similar C5 backbone feature.
    * **pixel category**: the momentum dense embeddings of both views of the whole
      gathered batch are clustered each step into ``num_clusters`` pseudo-classes
      (:func:`distributed_kmeans`, identical on every rank; ``category='kmeans'``,
      "DSC-KM"), or assigned to learnable prototypes balanced by Sinkhorn-Knopp over
      both views of the whole batch (``category='prototypes'``, "DSC-PM", which also
      trains the prototypes by predicting those codes from the online pixels, SwAV
      style). Then ``num_pixels`` cells per image are sampled: online view-1 cells are
      the anchors, labelled with the pseudo-class of the *momentum* embedding of the
      same cell; momentum view-2 cells of all ranks are the contrast set;
      :class:`SupConLoss` makes same-class pixels positives.

    Defaults and why:

    * ``instance_weight = pixel_weight = 0.5``: DenseCL's ``loss_lambda = 0.5`` split,
      so that with ``category_weight = 0`` and ``correspondence='argmax'`` this is
      DenseCL (plus a momentum forward of view 1). The paper gives no weights.
    * ``category_weight = 0.5``: the three terms are log-softmax losses of similar
      scale; equal weights are the neutral choice without the paper's values.
    * ``temperature = category_temperature = 0.2``: DenseCL's / MoCo v2's τ, and the
      spec's 0.2 for the category term.
    * ``num_clusters = 100``: the spec's C ≈ 100 (COCO has 80 thing + 91 stuff
      classes; ImageNet images are mostly one object plus background).
    * ``num_pixels = 16`` of the 49 C5 cells per image: bounds the cost at
      ``(B_r·16) × (B·16)`` logits per rank (512 × 4096 at 8 × 32) while every image
      still contributes anchors and keys; k-means itself clusters all ``2·49`` cells
      of every image.
    * ``kmeans_iters = 10``, cosine metric, k-means++ init: the embeddings are
      compared by cosine in every loss; 10 Lloyd steps converge on ~25k points well
      enough for pseudo-labels that change every step anyway.
    * ``momentum = 0.001`` (mmpretrain's convention ``1 - m``): MoCo's 0.999.
    * ``category_start_iters = 0``: the configs set 1000, DenseCL's warm-up for its
      argmax term, since clusters of random-init features are noise.

    Args:
        backbone (dict): e.g. mmpretrain ``ResNet`` (``out_indices=(3, )``: C5).
        neck (dict): mmpretrain ``DenseCLNeck``, or ``DenseCLBNNeck`` (the ViT configs):
            global + dense projections;
            ``num_grid`` must be None (the dense map is the C5 grid).
        head (dict, optional): unused (the losses are built here); accepted so that
            DenseCL-style base configs can be reused.
        queue_len (int): rows of each queue. Defaults to 65536.
        feat_dim (int): embedding width (the neck's ``out_channels``). Defaults to 128.
        momentum (float): EMA ``1 - m`` at the start. Defaults to 0.001.
        end_momentum (float, optional): its cosine end; None keeps it constant
            (MoCo / DenseCL). Defaults to None.
        temperature (float): τ of the instance and pixel InfoNCE. Defaults to 0.2.
        instance_weight (float): weight of the instance term. Defaults to 0.5.
        pixel_weight (float): weight of the pixel term. Defaults to 0.5.
        category_weight (float): weight of the pixel-category term. Defaults to 0.5.
        category_start_iters (int): the category term has weight 0 before this
            runner iteration. Defaults to 0.
        correspondence (str): ``'geometric'`` or ``'argmax'``. Defaults to 'geometric'.
        pixel_negatives (str): ``'queue'`` (DenseCL's pooled dense queue: other
            images only, so nothing tells two cells of one image apart) or
            ``'batch'`` (all momentum view-2 cells of every rank's batch, the cells of
            the anchor's own image included). Defaults to 'queue'.
        view_size (int): side of the square views. Defaults to 224.
        pair_cfg (dict, optional): extra arguments of :func:`grain_correspondences`
            (``num_pairs``, ``stride_factors``, ``row_clamp``, ``col_clamp``); None
            uses its table for the grain (10 pairs per image at grain 32).
        category (str): ``'kmeans'`` (DSC-KM) or ``'prototypes'`` (DSC-PM).
            Defaults to 'kmeans'.
        num_clusters (int): pseudo-classes C (and prototypes). Defaults to 100.
        num_pixels (int): cells sampled per image for the category term.
            Defaults to 16.
        category_temperature (float): τ of :class:`SupConLoss`. Defaults to 0.2.
        kmeans_iters (int): Lloyd iterations. Defaults to 10.
        kmeans_metric (str): ``'cosine'`` or ``'euclidean'``. Defaults to 'cosine'.
        kmeans_init (str): ``'kmeans++'`` or ``'random'``. Defaults to 'kmeans++'.
        prototype_weight (float): weight of the PM prototype-prediction loss.
            Defaults to 0.5.
        prototype_temperature (float): τ of the prototype prediction. Defaults to
            0.1 (SwAV).
        sinkhorn_iters (int): Defaults to 3 (SwAV).
        sinkhorn_epsilon (float): Defaults to 0.05 (SwAV).
        shuffle_bn (bool): MoCo's shuffle-BN of the momentum forward (all-gathers
            the images; needs equal local batches). Defaults to True.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: Optional[dict] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.001,
                 end_momentum: Optional[float] = None,
                 temperature: float = 0.2,
                 instance_weight: float = 0.5,
                 pixel_weight: float = 0.5,
                 category_weight: float = 0.5,
                 category_start_iters: int = 0,
                 correspondence: str = 'geometric',
                 pixel_negatives: str = 'queue',
                 view_size: int = 224,
                 pair_cfg: Optional[dict] = None,
                 category: str = 'kmeans',
                 num_clusters: int = 100,
                 num_pixels: int = 16,
                 category_temperature: float = 0.2,
                 kmeans_iters: int = 10,
                 kmeans_metric: str = 'cosine',
                 kmeans_init: str = 'kmeans++',
                 prototype_weight: float = 0.5,
                 prototype_temperature: float = 0.1,
                 sinkhorn_iters: int = 3,
                 sinkhorn_epsilon: float = 0.05,
                 shuffle_bn: bool = True,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if correspondence not in CORRESPONDENCES:
            raise ValueError(f'correspondence must be one of {CORRESPONDENCES}')
        if pixel_negatives not in PIXEL_NEGATIVES:
            raise ValueError(f'pixel_negatives must be one of {PIXEL_NEGATIVES}, '
                             f'got {pixel_negatives!r}')
        if category not in CATEGORY_MODES:
            raise ValueError(f'category must be one of {CATEGORY_MODES}')
        if kmeans_metric not in KMEANS_METRICS or kmeans_init not in KMEANS_INITS:
            raise ValueError(f'kmeans_metric in {KMEANS_METRICS}, kmeans_init in '
                             f'{KMEANS_INITS}')
        if getattr(self.neck, 'with_pool', False):
            raise ValueError('the neck must keep the C5 grid (DenseCLNeck num_grid=None): '
                             'the correspondences index C5 cells')
        if num_pixels < 1 or num_clusters < 2:
            raise ValueError('num_pixels >= 1 and num_clusters >= 2')
        self.feat_dim = feat_dim
        self.instance_weight = float(instance_weight)
        self.pixel_weight = float(pixel_weight)
        self.category_weight = float(category_weight)
        self.category_start_iters = int(category_start_iters)
        self.correspondence = correspondence
        self.pixel_negatives = pixel_negatives
        self.view_size = view_size
        self.pair_cfg = dict(pair_cfg or {})
        self.category = category
        self.num_clusters = num_clusters
        self.num_pixels = num_pixels
        self.kmeans_iters = kmeans_iters
        self.kmeans_metric = kmeans_metric
        self.kmeans_init = kmeans_init
        self.prototype_weight = float(prototype_weight)
        self.prototype_temperature = prototype_temperature
        self.sinkhorn_iters = sinkhorn_iters
        self.sinkhorn_epsilon = sinkhorn_epsilon
        self.shuffle_bn = shuffle_bn
        self.instance_loss = InfoNCELoss(temperature=temperature)
        self.pixel_loss = InfoNCELoss(temperature=temperature)
        self.category_loss = SupConLoss(temperature=category_temperature)
        # DenseCL's two queues: global keys, and pooled dense keys for the pixel term.
        self.queue = FeatureQueue(feat_dim, queue_len)
        self.dense_queue = FeatureQueue(feat_dim, queue_len)
        if category == 'prototypes':
            self.prototypes = nn.Linear(feat_dim, num_clusters, bias=False)
        # Target: backbone and neck. CosineEMA copies the online weights on its first
        # update; end == start gives MoCo's constant momentum.
        self.momentum_encoder = CosineEMA(
            self._online_encoder(), momentum=momentum,
            end_momentum=momentum if end_momentum is None else end_momentum)

    def _online_encoder(self) -> nn.ModuleDict:
        # A view of the online modules with the target's parameter names.
        return nn.ModuleDict(dict(backbone=self.backbone, neck=self.neck))

    def current_momentum(self) -> float:
        """EMA coefficient ``m`` (``p_t <- m p_t + (1 - m) p_o``) of the last update."""
        return cosine_ema_momentum(self.momentum_encoder)

    def geometric_pairs(self, data_samples: List[DataSample], grid: int,
                        device: torch.device) -> GrainCorrespondences:
        """C5-grid pairs ``(B, K)`` from the packed crop boxes and flips."""
        if 'crop_boxes' not in data_samples[0]:
            raise KeyError("correspondence='geometric' needs `crop_boxes` and `crop_flips`"
                           ': CoupledRandomResizedCrop + PackInputs(algorithm_keys=...)')
        if self.view_size % grid:
            raise ValueError(f'view_size {self.view_size} is not a multiple of the '
                             f'{grid} x {grid} feature grid')
        return sample_correspondences(data_samples, self.view_size // grid, device,
                                      self.view_size, **self.pair_cfg)

    @torch.no_grad()
    def pseudo_labels(self, pixels: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Pseudo-class per local momentum pixel ``(P_r, D)``, the same on every rank
        for the same pixel, and (PM) its Sinkhorn codes ``(P_r, C)``."""
        if self.category == 'kmeans':
            res = distributed_kmeans(pixels, self.num_clusters, self.kmeans_iters,
                                     self.kmeans_metric, self.kmeans_init)
            return res.labels, None
        protos = F.normalize(self.prototypes.weight.detach().float(), dim=1)
        codes = sinkhorn(F.normalize(pixels.float(), dim=1) @ protos.t(),
                         self.sinkhorn_iters, self.sinkhorn_epsilon)
        return codes.argmax(1), codes

    def _category_weight(self) -> float:
        if self.category_start_iters <= 0:
            return self.category_weight
        it = MessageHub.get_current_instance().get_info('iter')
        return self.category_weight if (it or 0) >= self.category_start_iters else 0.

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Instance, pixel and pixel-category losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): the two views, ``(B, 3, H, W)`` each.
            data_samples (list[DataSample]): with ``crop_boxes`` / ``crop_flips``
                (geometric correspondences).

        Returns:
            dict: ``loss_instance``, ``loss_pixel``, ``loss_category`` (weighted),
            ``loss_prototype`` (PM), and the EMA coefficient ``ema_momentum``.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('DSC expects a list of two views')
        im_q, im_k = inputs
        n = im_q.shape[0]
        q_b = self.backbone(im_q)
        q, q_grid, _ = self.neck(q_b)  # (n, D), (n, D, S²)
        s2 = q_grid.shape[2]
        grid = int(round(s2**0.5))

        with torch.no_grad():
            self.momentum_encoder.update_parameters(self._online_encoder())
            target = self.momentum_encoder.module
            x = torch.cat([im_q, im_k])
            if self.shuffle_bn:
                x, unshuffle = batch_shuffle_ddp(x)
            k_b = target.backbone(x)
            k, k_grid, k2 = target.neck(k_b)
            k_b = k_b[-1].flatten(2)
            if self.shuffle_bn:
                k, k_grid, k2, k_b = (batch_unshuffle_ddp(t, unshuffle)
                                      for t in (k, k_grid, k2, k_b))
            k_grid = F.normalize(k_grid, dim=1)
        k_grid1, k_grid2 = k_grid[:n], k_grid[n:]

        # Instance: global query of view 1, key of view 2, queue negatives.
        queue = self.queue.clone()
        losses = dict(loss_instance=self.instance_weight *
                      self.instance_loss(q, k[n:], queue=queue))

        # Pixel: corresponding C5 cells; dense-queue or whole-batch negatives.
        q_pix = q_grid.transpose(1, 2)  # (n, S², D)
        k_pix2 = k_grid2.transpose(1, 2)
        if self.correspondence == 'geometric':
            pairs = self.geometric_pairs(data_samples, grid, q.device)
            rows = torch.arange(n, device=q.device)[:, None].expand_as(pairs.idx1)
            rows, i1, i2 = rows[pairs.valid], pairs.idx1[pairs.valid], pairs.idx2[pairs.valid]
            pix_q = q_pix[rows, i1]
        else:
            sim = F.normalize(q_b[-1].flatten(2), dim=1).transpose(1, 2) @ F.normalize(
                k_b[n:], dim=1)  # (n, S², S²) backbone similarity, as DenseCL
            i2 = sim.detach().argmax(2).flatten()
            rows = torch.arange(n, device=q.device).repeat_interleave(s2)
            pix_q = q_pix.flatten(0, 1)
        if self.pixel_negatives == 'queue':
            losses['loss_pixel'] = self.pixel_weight * self.pixel_loss(
                pix_q, k_pix2[rows, i2], queue=self.dense_queue.clone())
        else:
            # The positive of a pair is cell (row, i2) of this rank's view-2 cells.
            losses['loss_pixel'] = self.pixel_weight * self.pixel_loss(
                pix_q, k_pix2.flatten(0, 1), labels=rows * s2 + i2)

        # Pixel category: pseudo-classes of all momentum cells of both views.
        labels, codes = self.pseudo_labels(k_grid.transpose(1, 2).flatten(0, 1))
        labels = labels.view(2, n, s2)
        # Uniform cells without replacement, independently per image and view (ranks
        # need not agree: the labels, not the samples, must be shared).
        pick1, pick2 = torch.rand(2, n, s2, device=q.device).argsort(2)[..., :self.num_pixels]
        anchors = q_pix.gather(1, pick1[..., None].expand(-1, -1, q_pix.shape[2]))
        keys = k_pix2.gather(1, pick2[..., None].expand(-1, -1, k_pix2.shape[2]))
        losses['loss_category'] = self._category_weight() * self.category_loss(
            anchors.flatten(0, 1), labels[0].gather(1, pick1).flatten(),
            keys.flatten(0, 1), labels[1].gather(1, pick2).flatten())
        if codes is not None:
            # PM: the online view-1 cells predict the balanced codes of their momentum
            # embedding; this is what trains the prototypes.
            protos = F.normalize(self.prototypes.weight, dim=1)
            logits = F.normalize(q_pix.flatten(0, 1), dim=1) @ protos.t()
            target_codes = codes.view(2, n * s2, -1)[0]
            ce = -(target_codes * F.log_softmax(logits / self.prototype_temperature, 1)).sum()
            total = global_count(logits.shape[0], q.device)
            losses['loss_prototype'] = ce * (self.prototype_weight * dist.get_world_size() /
                                             max(total, 1))

        self.queue.enqueue(k[n:])
        self.dense_queue.enqueue(k2[n:])
        losses['ema_momentum'] = torch.tensor(self.current_momentum(), device=q.device)
        return losses
