from .checkpoint_hook import SafeCheckpointHook
from .epoch_seed_hook import EpochSeedHook
from .resume_guard_hook import ResumeGuardHook
from .backbone_eval_hook import BackboneEvalHook
from .dense_probe_hook import DenseProbeHook
from .knn_monitor_hook import KNNMonitorHook
from .init_checkpoint_hook import InitCheckpointHook

__all__ = [
    'SafeCheckpointHook', 'BackboneEvalHook', 'DenseProbeHook', 'EpochSeedHook',
    'KNNMonitorHook', 'ResumeGuardHook', 'InitCheckpointHook'
]
from .freeze_last_layer_hook import FreezeLastLayerHook  # noqa: E402
from .teacher_temp_hook import MugsTeacherTempHook  # noqa: E402
__all__ += ['FreezeLastLayerHook', 'MugsTeacherTempHook']
