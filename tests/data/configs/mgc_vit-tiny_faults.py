# The tiny MGC config with a fault injected at the save of epoch 2 (tests/data/fault_hooks.py)
# and the rotation users with large checkpoints choose (keep one).
_base_ = ['./mgc_vit-tiny_demo.py']
custom_imports = dict(imports=['mgc_mm', 'tests.data.fault_hooks'], allow_failed_imports=False)
custom_hooks = [dict(type='FaultDuringSaveHook', fault='kill', at_epoch=2)]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
