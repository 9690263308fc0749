"""The smooth of a proportional-hazards plot as R's ``plot(cox.zph(fit))`` draws it (survival ≥ 3.0).

R fits, to each covariate's scaled Schoenfeld residuals against the transformed time g(t), a natural cubic
regression spline with ``df`` = 4 columns (``splines::ns(…, df = 4, intercept = TRUE)``: interior knots at
the 1/3 and 2/3 quantiles, boundary knots at the ends, of the evaluation grid and the residuals' g together)
by least squares, evaluates it on ``points`` = 40 equally spaced g, and draws a band of ±2 standard errors:
``2·sqrt(var[i, i] · p(g)ᵀ (XᵀX)⁻¹ p(g))``, where var = d·I⁻¹ (d deaths, I the model's information) is
cox.zph's ``var``. The fitted values do not depend on how the spline space is spanned, so the truncated-power
basis of Hastie, Tibshirani and Friedman (The Elements of Statistical Learning, 2nd ed., eq. 5.4–5.5) gives
R's curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aice_helpers.stats.cox import PAPER_TIES, event_time_sums, zph_time_transform

__all__ = ["ZPH_DF", "ZPH_POINTS", "ZPH_SE_MULTIPLE", "natural_spline_basis", "zph_plot_frame", "zph_smooth"]

ZPH_DF = 4  # plot.cox.zph's df
ZPH_POINTS = 40  # plot.cox.zph's nsmo
ZPH_SE_MULTIPLE = 2.0  # plot.cox.zph draws ±2 standard errors


def natural_spline_basis(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """Return the natural cubic spline basis N₁ = 1, N₂ = x, N_{k+2} = d_k − d_{K−1} (ESL eq. 5.4–5.5) at x,
    for knots ξ₁ < … < ξ_K (boundary knots first and last), with d_k(x) = ((x−ξ_k)₊³ − (x−ξ_K)₊³)/(ξ_K − ξ_k)."""
    x = np.asarray(x, dtype=float)
    xi = np.asarray(knots, dtype=float)

    def d(k: int) -> np.ndarray:
        return (np.clip(x - xi[k], 0, None) ** 3 - np.clip(x - xi[-1], 0, None) ** 3) / (xi[-1] - xi[k])

    return np.column_stack([np.ones_like(x), x, *[d(k) - d(len(xi) - 2) for k in range(len(xi) - 2)]])


def zph_smooth(g: Sequence[float], residual: Sequence[float], variance: float, df: int = ZPH_DF,
               points: int = ZPH_POINTS) -> pd.DataFrame:
    """Return R's plot.cox.zph smooth of residuals against g: columns g (the grid), fit, se, lower, upper (±2 SE).

    ``variance`` is cox.zph's var[i, i] (deaths × the coefficient's model variance). All NaN when the spline
    cannot be fitted (fewer distinct g than ``df``), where R skips the panel with a warning.
    """
    g = np.asarray(g, dtype=float)
    y = np.asarray(residual, dtype=float)
    keep = np.isfinite(y) & np.isfinite(g)
    g, y = g[keep], y[keep]
    if g.size == 0:
        return pd.DataFrame(columns=["g", "fit", "se", "lower", "upper"], dtype=float)
    grid = np.linspace(g.min(), g.max(), points)
    together = np.r_[grid, g]
    low, high = together.min(), together.max()
    span = (high - low) or 1.0
    interior = np.quantile(together, np.linspace(0, 1, df - 2 + 2)[1:-1])  # R's quantile type 7
    knots = (np.r_[low, interior, high] - low) / span
    design = natural_spline_basis((g - low) / span, knots)
    predict = natural_spline_basis((grid - low) / span, knots)
    nan = np.full(points, np.nan)
    if len(np.unique(knots)) < len(knots) or np.linalg.matrix_rank(design) < df:
        return pd.DataFrame({"g": grid, "fit": nan, "se": nan, "lower": nan, "upper": nan})
    q, r = np.linalg.qr(design)
    coef = np.linalg.solve(r, q.T @ y)
    fit = predict @ coef
    inverse_r = np.linalg.solve(r, np.eye(df))
    leverage = ((predict @ inverse_r) ** 2).sum(axis=1)  # p(g)ᵀ (XᵀX)⁻¹ p(g)
    se = np.sqrt(variance * leverage)
    return pd.DataFrame({"g": grid, "fit": fit, "se": se, "lower": fit - ZPH_SE_MULTIPLE * se,
                         "upper": fit + ZPH_SE_MULTIPLE * se})


def zph_plot_frame(time: Sequence[float], event: Sequence[int], x: pd.DataFrame, beta: Sequence[float],
                   ties: str = PAPER_TIES, transform: str = "km") -> pd.DataFrame:
    """Return what plot(cox.zph(fit, transform)) draws, long: covariate, time, g, residual (scaled Schoenfeld,
    β added), beta, variance (cox.zph's var[i, i] = deaths · (I⁻¹)ᵢᵢ), one row per death and covariate."""
    time_arr, event_arr = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    beta_arr = np.asarray(beta, dtype=float)
    sums = event_time_sums(time_arr, event_arr, x.to_numpy(float), beta_arr, ties)
    deaths = len(sums.residual_times)
    inverse = np.linalg.inv(sums.information.sum(axis=0))
    scaled = deaths * sums.residuals @ inverse + beta_arr
    g_all = zph_time_transform(time_arr, event_arr, transform)
    order = np.argsort(time_arr, kind="stable")
    g = g_all[order[event_arr[order] == 1]]  # g of each death, in the residuals' (time) order
    return pd.concat([pd.DataFrame({"covariate": column, "time": sums.residual_times, "g": g,
                                    "residual": scaled[:, j], "beta": beta_arr[j],
                                    "variance": deaths * inverse[j, j]})
                      for j, column in enumerate(x.columns)], ignore_index=True)
