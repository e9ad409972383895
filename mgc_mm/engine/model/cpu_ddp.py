from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
# mmengine's Runner looks wrappers up in the root registry, whatever the scope.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` for CPU processes (gloo backend).

    SyncBN only runs on accelerators, so its layers become mmengine's dimension-agnostic
    ``BatchNormXd`` first (what mmengine already does for single-process runs), and
    DDP gets no device ids. Selected automatically by ``tools/train.py`` when
    a distributed run finds no GPU.
    """

    def __init__(self, module, **kwargs) -> None:
        kwargs['device_ids'] = None
        kwargs.setdefault('broadcast_buffers', False)  # as mmengine's default wrapper
        super().__init__(module=revert_sync_batchnorm(module), **kwargs)
