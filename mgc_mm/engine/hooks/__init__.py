from .checkpoint_hook import SafeCheckpointHook
from .epoch_seed_hook import EpochSeedHook
from .resume_schedule_hook import ResumeScheduleHook
from .dense_probe_hook import DenseProbeHook

__all__ = ['SafeCheckpointHook', 'DenseProbeHook', 'EpochSeedHook', 'ResumeScheduleHook']
