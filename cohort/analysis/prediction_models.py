"""The prediction models of :mod:`cohort.analysis.prediction` as scikit-learn pipelines.

Every model is median imputation, standardisation and a classifier, refitted as a whole inside
every resample: ``logistic`` (unpenalised), ``ridge`` (L2), ``firth``
(:class:`FirthLogisticRegression`, Firth's penalised likelihood) and ``forest``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import special
from scipy.linalg import LinAlgWarning
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from cohort.analysis.logistic_fit import fit_firth
from cohort.errors import AnalysisError, ConvergenceWarning

__all__ = ["MODELS", "REFIT_WARNINGS", "FirthLogisticRegression", "make_model"]

MODELS = ("logistic", "ridge", "firth", "forest")
"""Model names accepted by :func:`make_model`."""
REFIT_WARNINGS = (SklearnConvergenceWarning, LinAlgWarning, ConvergenceWarning)
"""What a refit is expected to warn about on small resamples (no convergence, an ill-conditioned
Hessian: separation or a constant column in the sample): counted or accepted, not shown. Any
other warning passes through (:func:`cohort.analysis._common.catch_only`)."""


class FirthLogisticRegression(ClassifierMixin, BaseEstimator):
    """Firth's penalised-likelihood logistic regression as a scikit-learn classifier.

    Maximises ``log L(b) + 0.5 log|X' W X|`` (Jeffreys prior), which keeps estimates finite
    under separation and reduces their small-sample bias (Firth 1993; Heinze & Schemper 2002).
    Binary targets only; ``sample_weight`` are frequency weights.

    Parameters
    ----------
    fit_intercept : bool
        Add an intercept.
    max_iter : int
        Maximum Newton-Raphson iterations.
    tol : float
        Convergence tolerance on the largest coefficient step.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    """

    def __init__(self, *, fit_intercept: bool = True, max_iter: int = 300,
                 tol: float = 1e-8) -> None:
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: Any, y: Any,  # noqa: N803
            sample_weight: Any = None) -> FirthLogisticRegression:
        """Fit the model to ``X`` (n_samples, n_features) and binary ``y``."""
        xv, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.size != 2:
            raise ValueError(
                "Only binary classification is supported: FirthLogisticRegression needs "
                f"exactly 2 classes in y; got {self.classes_.size} "
                f"class{'' if self.classes_.size == 1 else 'es'}: {self.classes_.tolist()}")
        sample_weight = _check_sample_weight(sample_weight, xv, dtype=np.float64)
        design = np.column_stack([np.ones(xv.shape[0]), xv]) if self.fit_intercept else xv
        fit = fit_firth(design, y_enc.astype(np.float64), weights=sample_weight,
                        max_iter=self.max_iter, tol=self.tol)
        if not fit.converged:
            warnings.warn(f"Firth fit did not converge in {self.max_iter} iterations",
                          ConvergenceWarning, stacklevel=2)
        coef = fit.coef
        self.intercept_ = np.array([coef[0] if self.fit_intercept else 0.0])
        self.coef_ = (coef[1:] if self.fit_intercept else coef)[None, :]
        self.n_iter_ = np.array([fit.n_iter])
        return self

    def decision_function(self, X: Any) -> np.ndarray:  # noqa: N803
        """Linear predictor (log odds of ``classes_[1]``)."""
        check_is_fitted(self)
        xv = validate_data(self, X, reset=False, dtype=np.float64)
        return xv @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = special.expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """The more probable class."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


def make_model(name: str, *, random_state: int | None = None, ridge_c: float = 1.0,
               n_estimators: int = 100) -> Any:
    """A scikit-learn pipeline: median imputation, standardisation, then the classifier.

    Parameters
    ----------
    name : {"logistic", "ridge", "firth", "forest"}
        ``logistic``: unpenalised logistic regression (``C=inf``; scikit-learn's default is an
        L2 penalty with ``C=1``). ``ridge``: L2-penalised logistic regression with inverse
        penalty ``ridge_c`` on standardised predictors. ``firth``: Firth's penalised
        likelihood. ``forest``: a random forest of ``n_estimators`` trees with at least 3
        subjects per leaf.
    random_state : int, optional
        Seed of the forest (the logistic models are deterministic).
    """
    if name == "logistic":
        clf = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100)
    elif name == "ridge":
        clf = LogisticRegression(C=ridge_c, solver="newton-cholesky", tol=1e-10, max_iter=100)
    elif name == "firth":
        clf = FirthLogisticRegression()
    elif name == "forest":
        clf = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=3,
                                     random_state=random_state, n_jobs=1)
    else:
        raise AnalysisError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return Pipeline([("impute", SimpleImputer(strategy="median")),
                     ("scale", StandardScaler()), ("model", clf)])

