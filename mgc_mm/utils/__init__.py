from .checkpoint_convert import (MOMENTUM_PREFIX, ONLINE_PREFIX, mgc_mm_to_timm,
                                 mmpretrain_vit_to_timm, official_mgc_to_mgc_mm,
                                 timm_vit_to_mmpretrain)
from .config import (PRETRAINED_PREFIXES, adapt_cfg_to_cpu, check_cfg_options,
                     default_work_dir, enable_amp, load_config, set_pretrained)

__all__ = [
    'MOMENTUM_PREFIX', 'ONLINE_PREFIX', 'mgc_mm_to_timm', 'mmpretrain_vit_to_timm',
    'official_mgc_to_mgc_mm', 'timm_vit_to_mmpretrain', 'PRETRAINED_PREFIXES',
    'adapt_cfg_to_cpu', 'check_cfg_options', 'default_work_dir', 'enable_amp', 'load_config',
    'set_pretrained'
]
