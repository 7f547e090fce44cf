"""Figures and KPIs computed from finished stints: pure functions, no IO."""

import importlib.util


def columnar_installed() -> bool:
    """Whether the columnar path (``metrics.columnar``: pyarrow and numpy, the analytics extra) is
    installed; without it the database adds up."""
    return all(importlib.util.find_spec(m) is not None for m in ("pyarrow", "numpy"))
