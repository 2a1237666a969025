"""liqspec.fast: the compiled engine. There is no pure-Python fallback: if the extension is
missing, this import fails loudly."""

from ._kernels import position_values_quote  # noqa: F401  (ImportError here is deliberate)

__all__ = ["position_values_quote"]
