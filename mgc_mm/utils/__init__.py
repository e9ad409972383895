from .config import (adapt_cfg_to_cpu, check_cfg_options, default_work_dir, enable_amp,
                     load_config)

__all__ = ['adapt_cfg_to_cpu', 'check_cfg_options', 'default_work_dir', 'enable_amp',
           'load_config']
