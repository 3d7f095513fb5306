"""Colours of the report's figures, without importing seaborn unless a palette is named."""

from __future__ import annotations

from typing import Any

__all__ = ["colors"]


def colors(n: int, palette: Any = None) -> list[Any]:
    """``n`` colours: ``seaborn.color_palette(palette, n)``.

    With ``palette=None`` these are matplotlib's colour cycle as RGB tuples, repeated as
    needed: what seaborn returns then, computed without importing seaborn (about 0.3 s of
    a report's start-up). A named palette or a list is passed to seaborn.
    """
    if palette is None:
        from matplotlib import colors as mcolors
        from matplotlib import rcParams

        cycle = [mcolors.to_rgb(c) for c in rcParams["axes.prop_cycle"].by_key()["color"]]
        return [cycle[i % len(cycle)] for i in range(n)]
    import seaborn as sns

    return list(sns.color_palette(palette, n))
