"""Standards applied to a panel: indicators, the standard schema, rule kernels, the engine, sensitivity."""

from shrinkwatch.identify.standards import Standard, identify, list_standards, load_standard

__all__ = ["Standard", "identify", "list_standards", "load_standard"]
