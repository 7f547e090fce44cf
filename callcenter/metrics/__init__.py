"""Figures and KPIs computed from finished stints: pure functions, no IO."""
