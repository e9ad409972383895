from .mgc_vit import MGCViT

__all__ = ['MGCViT']
