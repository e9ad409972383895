# Runtime shared by mgc_mm pretraining configs, on top of mmpretrain's own.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    # Writes the new checkpoint before removing old ones (tools/train.py also swaps it in
    # for mmengine's CheckpointHook in any config). save_optimizer=False halves the file
    # (no AdamW state) but such a file cannot be resumed, only fine-tuned from;
    # tools/model_converters/extract_backbone.py keeps the backbone alone.
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
# EpochSeedHook seeds each epoch's augmentations from (seed, epoch), so a resumed run
# repeats the uninterrupted one; ResumeGuardHook keeps the config's schedule lengths
# on --resume and refuses checkpoints without optimizer state. tools/train.py adds
# both to any config that lacks them.
custom_hooks = [dict(type='EpochSeedHook'), dict(type='ResumeGuardHook')]
log_processor = dict(window_size=50)
find_unused_parameters = False
# Where the pixels of the training views are made: 'cpu' (dataloader workers decode and
# augment every view) or 'device' (workers read bytes and draw parameters only; the
# training device decodes and augments whole batches, DevicePixelPreprocessor). Same
# views from the same seed either way; switch with --cfg-options pixel_pipeline=device.
pixel_pipeline = 'cpu'
# torch.compile of the train step (mmengine's Runner reads cfg.compile; tools/train.py lets
# dynamo skip NumPy fields of the data samples): off by default;
# `--cfg-options compile=True`, or a dict of torch.compile arguments in a config
# (compile = dict(mode='max-autotune')).
compile = False
