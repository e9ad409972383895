# Runtime shared by mgc_mm pretraining configs, on top of mmpretrain's own.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
log_processor = dict(window_size=50)
find_unused_parameters = False
