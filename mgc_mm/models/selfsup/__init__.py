from .mgc import MGC

__all__ = ['MGC']
