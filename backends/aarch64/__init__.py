"""The AArch64 backend; `TARGET` is what the registry loads."""
from .target import TARGET

__all__ = ['TARGET']
