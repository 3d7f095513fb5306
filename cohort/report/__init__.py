"""Presentation: seaborn/matplotlib figures and the self-contained HTML report."""
