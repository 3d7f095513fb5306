"""The examples that end every ``--help``: commands that run as written, from the root of a
checkout, on the bundled cohorts under ``synthetic/`` (the tests run every one of them, in a
temporary folder, from every help screen).

Each example is one line of at most :data:`WIDTH` characters, so that an 80-column terminal
shows it unbroken and it can be copied as it is.
"""

from __future__ import annotations

__all__ = ["EXAMPLES", "WIDTH", "epilog"]

WIDTH = 76
"""Longest example line: the help's epilog is printed with a margin of 2 in 80 columns."""

_LU = "synthetic/lu2021/cohort"
_SKY = "synthetic/skyler2015/cohort"
_NGU = "synthetic/nguyen2021/cohort"
_MAT = "synthetic/matsuoka2025/cohort"
_COURI = "synthetic/couri2009/cohort"

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        f"cohort validate {_LU}",
        f"cohort analyze remission {_LU}",
        f"cohort report {_LU} --out lu2021.html",
    ),
    "validate": (
        f"cohort validate {_LU}",
        f"cohort validate {_SKY} --format json --max-findings 20",
        f"cohort validate {_COURI} --engine pandas",
    ),
    "analyze": (
        f"cohort analyze table1 {_LU} --export table1.docx",
        f"cohort analyze ancova {_SKY} --visit-days 7,56,84",
        f"cohort analyze survival {_COURI} --plot km.png",
    ),
    "analyze table1": (
        f"cohort analyze table1 {_LU}",
        f"cohort analyze table1 {_LU} --export table1.docx",
        f"cohort analyze table1 {_SKY} --hba1c-unit both",
    ),
    "analyze paired": (
        f"cohort analyze paired {_MAT} --visit-days 183,365",
        f"cohort analyze paired {_MAT} --last --by stratum",
        f"cohort analyze paired {_NGU} --param fpg --last \\",
        "    --plot change.png",
    ),
    "analyze ancova": (
        f"cohort analyze ancova {_SKY} --visit-days 7,56,84",
        f"cohort analyze ancova {_SKY} --visit-days 84 \\",
        "    --adjust dunnett --export ancova.xlsx",
    ),
    "analyze mmrm": (
        f"cohort analyze mmrm {_SKY} --visit-days 7,56,84",
        f"cohort analyze mmrm {_SKY} --visit-days 7,56,84 \\",
        "    --covariance cs --df kr --export mmrm.docx",
    ),
    "analyze effect-modification": (
        f"cohort analyze effect-modification {_NGU} --last",
        f"cohort analyze effect-modification {_NGU} --last \\",
        "    --by age_years --cut 50",
        f"cohort analyze effect-modification {_NGU} \\",
        "    --by duration --visit-days 182,365 --plot forest.png",
    ),
    "analyze dose-response": (
        f"cohort analyze dose-response {_MAT} --last",
        f"cohort analyze dose-response {_MAT} \\",
        "    --visit-days 365 --dose per_kg --dose-threshold 2e9",
    ),
    "analyze responders": (
        f"cohort analyze responders {_SKY} --visit-days 84",
        f"cohort analyze responders {_NGU} --visit-days 365 \\",
        "    --criterion 'HBA1C < 7' --criterion 'med:insulin >= 50' --combine any",
    ),
    "analyze remission": (
        f"cohort analyze remission {_LU}",
        f"cohort analyze remission {_LU} --by none \\",
        "    --marker CPEP_FAST --threshold 20",
        f"cohort analyze remission {_LU} \\",
        "    --predictor baseline_cpep_fast_nmol_l --predictor age_years",
    ),
    "analyze predict": (
        f"cohort analyze predict {_LU} \\",
        "    --predictor baseline_cpep_fast_nmol_l --bootstrap 50 --repeats 5",
        f"cohort analyze predict {_LU} --model logistic \\",
        "    -p baseline_cpep_fast_nmol_l -p age_years \\",
        "    --bootstrap 20 --figures prediction",
    ),
    "analyze survival": (
        f"cohort analyze survival {_COURI}",
        f"cohort analyze survival {_COURI} --landmarks 6,12,24 \\",
        "    --plot km.png",
        f"cohort analyze survival {_LU} --by arm --format json",
    ),
    "report": (
        f"cohort report {_LU} --out lu2021.html",
        f"cohort report {_SKY} --out skyler.html \\",
        "    --title 'Skyler 2015: week 12'",
    ),
    "synth": (
        "cohort synth lu2021 --out lu2021_cohort",
        "cohort synth skyler2015 --n 600 --seed 7 --out big_trial",
        "cohort synth lu2021 --check",
    ),
    "reproduce": (
        "cohort reproduce lu2021",
        f"cohort reproduce skyler2015 --data {_SKY} --format json",
        "cohort reproduce nguyen2021 --seed 3",
    ),
    "studies": (
        "cohort studies",
        "cohort studies --format json",
    ),
    "dictionary": (
        "cohort dictionary",
        "cohort dictionary --out dictionary.md",
    ),
}
"""Examples per command path (``""`` is ``cohort`` itself); a line ending in ``\\`` goes on
in the next, indented one."""


def epilog(command: str) -> str:
    """The help's closing section: ``Examples:`` and the command's examples, one a line."""
    # the leading newline keeps the indentation: the help dedents all but the first line
    return "\nExamples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])
