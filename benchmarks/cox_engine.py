"""Time the Cox engine against R's ``coxph`` on the same 1,000,000-row files, in the same run.

    python benchmarks/cox_engine.py                 # 1,000,000 rows
    python benchmarks/cox_engine.py --rows 200000   # smaller

Three data sets, written as CSV to a temporary folder and fitted by both programs (R via Rscript,
timing coxph alone, not the file reading): 4 continuous covariates with untied times (Efron and
Breslow), and 7 binary covariates with times in half-months (the grouped layout, Breslow and
Efron). Prints a Markdown table of seconds and the largest relative difference of the coefficients
from R's. Each fit includes R's concordance (coxph computes it too) and the model's tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from aice_helpers.stats.cox import cox_fit

R_CODE = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
covs <- setdiff(names(d), c("time", "event"))
f <- as.formula(paste("Surv(time, event) ~", paste(covs, collapse = " + ")))
out <- list()
for (ties in strsplit(args[2], ",")[[1]]) {
  elapsed <- system.time(fit <- coxph(f, data = d, ties = ties))[["elapsed"]]
  out[[ties]] <- list(seconds = elapsed, coef = unname(coef(fit)), concordance = unname(fit$concordance["concordance"]))
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def continuous_data(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """4 continuous covariates, exponential times (untied), about 30% censored."""
    x = rng.normal(size=(rows, 4)) * [1.0, 2.0, 0.5, 10.0] + [0.0, 5.0, 0.0, 60.0]
    eta = x @ np.array([0.3, -0.1, 0.5, 0.02])
    event_time = rng.exponential(12.0, rows) * np.exp(-eta + eta.mean())
    censor = rng.exponential(30.0, rows)
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3", "age"])
    frame["time"] = np.round(np.minimum(event_time, censor), 6) + 1e-6
    frame["event"] = (event_time <= censor).astype(int)
    return frame


def binary_data(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """7 binary covariates, times in half-months (heavily tied), as the book's models have."""
    x = (rng.random((rows, 7)) < [0.5, 0.3, 0.2, 0.4, 0.1, 0.6, 0.25]).astype(int)
    eta = x @ np.array([0.4, -0.3, 0.6, 0.2, 0.8, -0.1, 0.3])
    event_time = rng.exponential(15.0, rows) * np.exp(-eta)
    censor = rng.uniform(0, 60, rows)
    frame = pd.DataFrame(x, columns=[f"b{i}" for i in range(1, 8)])
    frame["time"] = np.ceil(np.minimum(event_time, censor) * 2) / 2
    frame["event"] = (event_time <= censor).astype(int)
    return frame


def time_python(frame: pd.DataFrame, ties: str, grouped: bool | None) -> tuple[float, np.ndarray, float, str]:
    """Seconds, coefficients, concordance and engine of one fit (best of one: the machine is shared)."""
    covariates = [c for c in frame.columns if c not in ("time", "event")]
    x = frame[covariates].to_numpy(float)
    start = time.perf_counter()
    fit = cox_fit(frame["time"].to_numpy(), frame["event"].to_numpy(), x, ties=ties, grouped=grouped)
    return time.perf_counter() - start, fit.coef, fit.concordance, fit.engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "coxph.R"
        script.write_text(R_CODE, encoding="utf-8")
        for name, frame, grouped in (("continuous (4), untied times", continuous_data(args.rows, rng), False),
                                     ("binary (7), half-month times", binary_data(args.rows, rng), None)):
            path = Path(folder) / "data.csv"
            frame.to_csv(path, index=False)
            r = json.loads(subprocess.run(["Rscript", str(script), str(path), "efron,breslow"], check=True,
                                          capture_output=True, text=True).stdout)
            for ties in ("efron", "breslow"):
                seconds, coef, concordance, engine = time_python(frame, ties, grouped)
                difference = float(np.max(np.abs(coef - np.array(r[ties]["coef"])) / np.abs(r[ties]["coef"])))
                rows.append({"data": name, "ties": ties, "engine": engine, "python (s)": round(seconds, 2),
                             "R coxph (s)": round(r[ties]["seconds"], 2),
                             "max rel. diff. of β": f"{difference:.1e}",
                             "C − R's C": f"{concordance - r[ties]['concordance']:.1e}"})
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\n{args.rows:,} rows\n")
    print(table.to_markdown(index=False))


if __name__ == "__main__":
    main()
