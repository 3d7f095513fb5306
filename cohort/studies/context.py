"""A study spec applied to a cohort: arms, visits, subgroups and shared analysis runs.

A target names arms by their spec name (``mpc_2.0``), visits by their spec label
(``week 8``, ``last follow-up``) and subgroups by a spec condition
(``{variable: HBA1C, below: 8}``). :class:`StudyContext` translates those onto the cohort's
own tables, the same way for a synthetic cohort and for a user's cohort, and raises
:class:`~cohort.studies.base.NotComputable` with the reason when the cohort lacks what is
named. Analyses several targets share (an ANCOVA per visit, the insulin-free episodes, the
remission data set) run once per context.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.derive.visit_windows import Visit, make_visits
from cohort.studies.base import NotComputable
from cohort.studies.subjects import MONTH_DAYS, subject_frame, subject_values

if TYPE_CHECKING:
    from cohort.io.cohort import Cohort
    from cohort.spec.blocks import Condition
    from cohort.spec.model import StudySpec

__all__ = ["ALL", "ALL_LABEL", "MONTH_DAYS", "StudyContext", "warning_text"]

ALL = "all"
"""The group key of the whole cohort: ``arm: all`` is every subject, as one group."""
ALL_LABEL = "all subjects"
"""The arm label results carry for ``arm: all``."""


TABLES_WITH_FILES = ("infusions", "adverse_events", "medications")


def _for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans as the words the contract reads (``true``/``false``), missing stays empty."""
    out = frame.copy()
    for col in out.columns:
        if str(out[col].dtype) in ("bool", "boolean"):
            out[col] = out[col].astype("boolean").map(
                {True: "true", False: "false"}).astype(object)
    return out


def warning_text(w: warnings.WarningMessage) -> str:
    """A caught warning as one line: ``Category: message``."""
    return f"{w.category.__name__}: {str(w.message).splitlines()[0]}"


class StudyContext:
    """The spec of a study and the cohort its targets are computed on.

    Parameters
    ----------
    spec : StudySpec
        The study spec (arms, visits, targets).
    cohort : Cohort
        A validated cohort (contract tables in canonical units).
    """

    def __init__(self, spec: StudySpec, cohort: Cohort) -> None:
        self.spec = spec
        self.cohort = cohort
        self.notes: list[str] = []
        self._memo: dict[Hashable, tuple[Any, list[str]]] = {}
        self._frame: pd.DataFrame | None = None
        self._arms: set[str] | None = None
        self._selected: dict[str, pd.DataFrame] = {}
        self._folder: tuple[Path, str | None] | None = None
        self._measurements: pd.DataFrame | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        """Remove the temporary copy of the cohort made for ``cohort analyze`` requests."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._folder = None

    def analysis_folder(self) -> tuple[Path, str | None]:
        """The cohort folder (and mapping) a ``cohort analyze`` request reads.

        The folder (or workbook) the cohort was loaded from, with its mapping (or the
        ``mapping.yaml`` that declares the spec's extras beside a synthetic cohort). A cohort
        whose folder is gone (a synthetic cohort of another seed, written to a temporary
        folder) is written once to a temporary folder, removed by :meth:`close`.
        """
        if self._folder is not None:
            return self._folder
        from cohort.synth.generate import MAPPING_FILE, extras_mapping

        folder = Path(str(self.cohort.path))
        mapping = self.cohort.mapping if isinstance(self.cohort.mapping, str) else None
        if folder.exists() and any(p.sources for p in self.cohort.provenance.values()):
            if mapping is None and self.spec.extras and (folder / MAPPING_FILE).is_file():
                mapping = str(folder / MAPPING_FILE)
            self._folder = (folder, mapping)
            return self._folder
        from cohort.io.write import write_cohort

        self._tmp = tempfile.TemporaryDirectory(prefix="cohort-request-")
        out = Path(self._tmp.name) / "cohort"
        tables = {}
        for name, frame in self.cohort.tables.items():
            prov = self.cohort.provenance.get(name)
            if len(frame) or (prov is not None and prov.sources):
                tables[name] = _for_file(frame)
        extra = {MAPPING_FILE: extras_mapping(self.spec)} if self.spec.extras else {}
        write_cohort(tables, out, extra_files=extra)
        self._folder = (out, str(out / MAPPING_FILE) if extra else None)
        return self._folder

    # tables -----------------------------------------------------------------------------
    @property
    def subjects(self) -> pd.DataFrame:
        """The subjects table."""
        return self.cohort.subjects

    @property
    def measurements(self) -> pd.DataFrame:
        """Long-format measurements (canonical units), with the derived HOMA-beta rows a
        target asked for (:func:`require_param`)."""
        return self._measurements if self._measurements is not None \
            else self.cohort.measurements

    def table(self, name: str, *, needed_for: str) -> pd.DataFrame:
        """An optional table, or NotComputable when the cohort has none.

        A table read from a file counts as present even with no rows (no adverse events is a
        result); a table the folder did not have is missing.
        """
        frame = self.cohort.tables[name]
        prov = self.cohort.provenance.get(name)
        if len(frame) == 0 and (prov is None or not prov.sources):
            raise NotComputable(f"the cohort has no {name} table, which {needed_for} needs "
                                f"(add {name}.csv to the cohort folder)")
        return frame

    def require_param(self, param: str) -> None:
        """NotComputable unless the cohort has ``param`` measurements.

        ``HOMA_B`` and ``HOMA_B_CP`` are derived here from same-day fasting glucose and
        fasting insulin or C-peptide (:mod:`cohort.derive.homa`) and added to
        :attr:`measurements`.
        """
        from cohort.derive.homa import HOMA_PARAMS, homa_beta

        present = self.measurements["param"].astype(str) == param
        if param in HOMA_PARAMS and not present.any():
            unit = None
            extra = self.spec.extras.parameters.get(HOMA_PARAMS[param][0])
            if extra is not None:
                unit = extra.unit
            try:
                rows, notes = homa_beta(self.measurements, param, secretion_unit=unit)
            except ValueError as exc:
                raise NotComputable(str(exc)) from None
            self.notes.extend(notes)
            if rows.empty:
                raise NotComputable(f"{param} needs fasting glucose (FPG) and "
                                    f"{HOMA_PARAMS[param][0]} measured on the same day; the "
                                    "cohort has no such pair")
            self._measurements = pd.concat([self.measurements, rows], ignore_index=True)
            return
        if not present.any():
            present = sorted(pd.unique(self.measurements["param"].dropna().astype(str)))
            raise NotComputable(f"the cohort has no {param} measurements (parameters present: "
                                f"{', '.join(present) or 'none'})")

    # arms -------------------------------------------------------------------------------
    def arm_label(self, key: str) -> str:
        """The cohort's ``arm`` value for a spec arm name.

        ``all`` (the whole cohort, every arm as one group) is :data:`ALL_LABEL`. The spec's
        label (the value the synthetic cohort writes) is looked for first, then the arm's
        name; a user cohort with other arm names maps them with ``--mapping``
        (``recode: {arm: {...}}``).
        """
        if key == ALL:
            return ALL_LABEL
        name, _, stratum = str(key).partition("/")
        if stratum:
            raise NotComputable(f"arm key {key!r} names a stratum of the spec; strata are not "
                                "recorded in the cohort tables (use a condition, `among`)")
        try:
            arm = self.spec.arm(name)
        except KeyError:
            raise NotComputable(f"the spec has no arm {name!r}") from None
        if self._arms is None:
            self._arms = set(self.subjects["arm"].dropna().astype(str))
        present = self._arms
        for candidate in (arm.arm_label, arm.name):
            if candidate in present:
                return candidate
        raise NotComputable(
            f"arm {arm.arm_label!r} (spec arm {arm.name!r}) is not in the cohort (arms: "
            f"{', '.join(sorted(present)) or 'none'}); recode the arm column with --mapping")

    def arm_of(self) -> pd.Series:
        """``arm`` per subject id (text)."""
        return pd.Series(self.subjects["arm"].astype(str).to_numpy(),
                         index=self.subjects["subject_id"].astype(str).to_numpy())

    # visits -----------------------------------------------------------------------------
    def visits(self) -> list[Visit]:
        """Every scheduled post-baseline visit of the spec, with the default windows.

        Windows are :func:`cohort.derive.visit_windows.make_visits` defaults over the whole
        schedule (15% of the nominal day, at least 7 days, split at the midpoint where two
        overlap), so a value counts for one visit only.
        """
        posts = self.spec.visits.post_baseline()
        if not posts:
            return []
        return make_visits([v.day for v in posts], labels=[v.label for v in posts])

    def visit(self, label: str) -> Visit | None:
        """The :class:`Visit` a target's visit label names; None for the last follow-up.

        The spec's ``final`` label (a visit on each subject's last contact day) is the last
        available follow-up value (:func:`cohort.derive.visit_values.last_followup`).
        """
        if self.spec.visits.final is not None and label == self.spec.visits.final:
            return None
        for v in self.visits():
            if v.label == label:
                return v
        raise NotComputable(f"visit {label!r} is not a post-baseline visit of the spec "
                            f"({', '.join(self.spec.visits.labels()[1:])})")

    # subjects ---------------------------------------------------------------------------
    def subject_frame(self) -> pd.DataFrame:
        """One row per subject: :func:`cohort.studies.subjects.subject_frame` (built once)."""
        if self._frame is None:
            self._frame = subject_frame(self.cohort)
        return self._frame

    def condition_mask(self, frame: pd.DataFrame, cond: Condition) -> pd.Series:
        """Which rows of ``frame`` meet a spec condition (:func:`cohort.spec.condition_mask`;
        missing values do not); NotComputable when it cannot be evaluated on this cohort."""
        from cohort.spec.conditions import ConditionError, condition_mask

        try:
            mask = condition_mask(cond, subject_values(frame), len(frame))
        except ConditionError as exc:
            raise NotComputable(str(exc)) from None
        return pd.Series(mask, index=frame.index)

    def select(self, *, arm: str | None = None, arms: list[str] | None = None,
               among: Any = None) -> pd.DataFrame:
        """Rows of :meth:`subject_frame` in an arm (spec name) or arms, meeting ``among``.

        ``arm="all"`` selects every subject as one group (their ``arm`` reads
        :data:`ALL_LABEL`, so an analysis by arm gives the whole-cohort row).

        Subjects whose condition variable is missing are left out of the subgroup; how many
        is added to :attr:`notes`.
        """
        names = [arm] if arm is not None else (arms or [])
        pooled = names == [ALL]  # the whole cohort, as one group
        if pooled:
            names = []
        key = repr((pooled, sorted(names), among.model_dump() if hasattr(among, "model_dump")
                    else among))
        if key in self._selected:
            note = self._selected[key].attrs.get("note")
            if note and note not in self.notes:
                self.notes.append(note)
            return self._selected[key]
        frame = self.subject_frame()
        if pooled:
            frame = frame.assign(arm=ALL_LABEL)
        note = None
        if names:
            labels = [self.arm_label(a) for a in names]
            frame = frame[frame["arm"].astype(str).isin(labels)]
        if among is not None:
            from cohort.spec.blocks import Condition

            cond = among if isinstance(among, Condition) else Condition.model_validate(among)
            if "insulin_free" in cond.variables() and "insulin_free" not in frame.columns:
                frame = frame.assign(insulin_free=frame["subject_id"].map(
                    self.insulin_free_status()).to_numpy())
            missing = pd.Series(False, index=frame.index)
            for var in cond.variables():
                if var in frame.columns:
                    missing |= frame[var].isna()
            if missing.any():
                note = (f"{int(missing.sum())} subject(s) without "
                        f"{', '.join(cond.variables())} left out of the subgroup")
                self.notes.append(note)
            frame = frame[self.condition_mask(frame, cond)]
        if frame.empty:
            where = f" in arm {names}" if names else ""
            raise NotComputable(f"no subject{where} meets the target's subgroup condition"
                                if among is not None else f"no subject{where}")
        frame = frame.reset_index(drop=True)
        frame.attrs["note"] = note
        self._selected[key] = frame
        return frame

    def insulin_free_status(self) -> pd.Series:
        """Each subject's insulin independence, by subject id, as a spec condition reads it
        (``insulin_free``): ``continuous`` (the first insulin-free episode lasts to the last
        contact), ``resumed`` (it ended with insulin resumed) or ``never``; missing for a
        subject without insulin records."""
        from cohort.derive.insulin import insulin_episodes

        self.require_param("INSULIN_DOSE")
        ins = self.memo(("insulin",), lambda: insulin_episodes(
            self.measurements, self.subjects, self.cohort.adverse_events))
        first = ins.episodes[ins.episodes["episode"] == 1]
        status = pd.Series(np.where(first["event"].astype(bool), "resumed", "continuous"),
                           index=first["subject_id"].astype(str).to_numpy(), dtype=object)
        ids = ins.subjects["subject_id"].astype(str)
        out = pd.Series("never", index=ids.to_numpy(), dtype=object)
        out.loc[status.index] = status
        return out

    # shared analysis runs ---------------------------------------------------------------
    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Run ``compute`` once per key; its warnings join :attr:`notes` on every use.

        A computation that raised is remembered too, so every target that needs it reports
        the same reason without running it again.
        """
        if key not in self._memo:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    value: Any = compute()
                except NotComputable as exc:
                    value = exc
                except Exception as exc:
                    from cohort.errors import CohortError
                    from cohort.studies.requests import RequestSpecError

                    if not isinstance(exc, CohortError) or isinstance(exc, RequestSpecError):
                        raise
                    value = NotComputable(str(exc))
            self._memo[key] = (value, list(dict.fromkeys(warning_text(w) for w in caught)))
        value, notes = self._memo[key]
        self.notes.extend(n for n in notes if n not in self.notes)
        if isinstance(value, NotComputable):
            raise NotComputable(str(value))
        return value
