"""mgc_mm: multi-grained self-supervised pretraining for OpenMMLab.

Importing the package registers its datasets, transforms, models, optimizer wrappers
and checkpoint I/O into the OpenMMLab registries (``custom_imports=['mgc_mm']``).
"""
from .version import __version__

from . import datasets, engine, models  # noqa: E402,F401  (registration)

__all__ = ['__version__']
