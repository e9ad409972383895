from .device_pixel_preprocessor import DevicePixelPreprocessor

__all__ = ['DevicePixelPreprocessor']
