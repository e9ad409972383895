from .checkpoint_hook import SafeCheckpointHook
from .epoch_seed_hook import EpochSeedHook
from .resume_guard_hook import ResumeGuardHook
from .dense_probe_hook import DenseProbeHook

__all__ = ['SafeCheckpointHook', 'DenseProbeHook', 'EpochSeedHook', 'ResumeGuardHook']
