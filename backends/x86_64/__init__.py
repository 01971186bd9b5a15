from .target import TARGET
