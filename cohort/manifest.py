"""Run manifests: what produced a result, so that it can be reproduced.

Every JSON output and HTML report carries one: the command and options, the seed, the input
files with their SHA-256 hashes, and the versions of Python and of the packages that computed
the numbers.
"""

from __future__ import annotations

import functools
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

__all__ = ["PACKAGES", "package_versions", "run_manifest"]

PACKAGES = ("cohort", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "scikit-learn",
            "pandera", "polars", "pyarrow", "matplotlib", "seaborn")


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None when not installed)."""
    return dict(_versions(tuple(packages)))


@functools.lru_cache(maxsize=8)
def _versions(packages: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    # looked up once per process: each look-up scans the installed distributions (about
    # 50 ms for the twelve packages), and `cohort reproduce --all` writes ten manifests
    out = []
    for name in packages:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def run_manifest(*, command: str, options: dict[str, Any] | None = None,
                 seed: int | None = None, files: list[dict[str, Any]] | None = None,
                 created: datetime | None = None) -> dict[str, Any]:
    """Build a run manifest.

    Parameters
    ----------
    command : str
        The command or function that ran (``"cohort reproduce lu2021"``).
    options : dict, optional
        The options it ran with.
    seed : int, optional
        The random seed, when randomness was involved.
    files : list of dict, optional
        Input files, each with at least ``name`` and ``sha256`` (as in
        :attr:`cohort.ValidationReport.files`).
    created : datetime, optional
        Timestamp (default: now, UTC). Pass a fixed value for byte-identical outputs.
    """
    created = created or datetime.now(UTC)
    return {
        "command": command,
        "options": options or {},
        "seed": seed,
        "files": files or [],
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "packages": package_versions(),
        "created": created.isoformat(timespec="seconds"),
    }
