from .mgc_vit import MGCViT

__all__ = ['MGCViT']
from .strict_resnet import PretrainedResLayer, PretrainedResNet  # noqa: E402
__all__ += ['PretrainedResLayer', 'PretrainedResNet']
from .sincos_init_vit import SinCosInitViT  # noqa: E402
__all__ += ['SinCosInitViT']
