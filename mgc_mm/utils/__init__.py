from .config import (PRETRAINED_PREFIXES, adapt_cfg_to_cpu, check_cfg_options,
                     default_work_dir, enable_amp, load_config, set_pretrained)

__all__ = ['PRETRAINED_PREFIXES', 'adapt_cfg_to_cpu', 'check_cfg_options', 'default_work_dir',
           'enable_amp', 'load_config', 'set_pretrained']
