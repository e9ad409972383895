from .checkpoint import AtomicLocalBackend, atomic_write, load_from_local
from .hooks import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = ['AtomicLocalBackend', 'atomic_write', 'load_from_local']
