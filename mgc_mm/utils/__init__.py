from .checkpoint_convert import (BRANCH_PREFIXES, MOMENTUM_PREFIX, ONLINE_PREFIX,
                                 extract_backbone, mgc_mm_to_timm, mmpretrain_vit_to_timm,
                                 official_mgc_to_mgc_mm, timm_vit_to_mmpretrain)
from .config import (PIXEL_PIPELINES, PRETRAINED_PREFIXES, adapt_cfg_to_cpu,
                     apply_pixel_pipeline, check_cfg_options,
                     check_train_data, default_work_dir, enable_amp, load_config,
                     prepare_work_dir, set_pretrained, add_safety_hooks)
from .config_check import check_config_arguments, sync_schedules
from .work_dir import (NothingToResumeError, WorkDirInUseError, find_resume_checkpoint,
                       is_complete_checkpoint)

__all__ = [
    'BRANCH_PREFIXES', 'MOMENTUM_PREFIX', 'ONLINE_PREFIX', 'extract_backbone',
    'mgc_mm_to_timm', 'mmpretrain_vit_to_timm',
    'official_mgc_to_mgc_mm', 'timm_vit_to_mmpretrain', 'PRETRAINED_PREFIXES',
    'PIXEL_PIPELINES', 'apply_pixel_pipeline', 'adapt_cfg_to_cpu', 'check_cfg_options', 'default_work_dir', 'enable_amp', 'load_config',
    'set_pretrained', 'check_train_data', 'prepare_work_dir', 'add_safety_hooks',
    'check_config_arguments', 'sync_schedules', 'NothingToResumeError', 'WorkDirInUseError',
    'find_resume_checkpoint', 'is_complete_checkpoint'
]
