# Reference values of plot(cox.zph(fit)): the smooth and its ±2 SE band, as plot.cox.zph computes them.
#
# Usage:  Rscript tests/r/zph_plot_reference.R [output_dir]   (default: tests/fixtures)
# Writes r_zph_plot_reference.json. The lines of plot.cox.zph (survival 3.5) that compute yhat, yup and ylow
# are repeated here so that the numbers can be written out; nothing else of the plot is needed.
suppressPackageStartupMessages({
  library(survival)
  library(splines)
  library(jsonlite)
})
script_dir <- function() {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) == 0) return(getwd())
  dirname(normalizePath(sub("^--file=", "", file_arg[1])))
}
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path(dirname(script_dir()), "fixtures")

COX_CONTROL <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)
lung_data <- na.omit(survival::lung[, c("time", "status", "age", "sex", "ph.ecog")])
lung_data$event <- as.integer(lung_data$status == 2)

smooth_of <- function(x, df = 4, nsmo = 40) {
  xx <- x$x
  yy <- x$y
  pred.x <- seq(from = min(xx), to = max(xx), length = nsmo)
  lmat <- ns(c(pred.x, xx), df = df, intercept = TRUE)
  pmat <- lmat[1:nsmo, ]
  xmat <- lmat[-(1:nsmo), ]
  out <- list()
  for (i in seq_len(ncol(yy))) {
    qmat <- qr(xmat)
    yhat <- pmat %*% qr.coef(qmat, yy[, i])
    bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
    seval <- ((pmat %*% (bk %*% t(bk))) * pmat) %*% rep(1, df)
    half <- 2 * sqrt(x$var[i, i] * seval)
    out[[colnames(yy)[i]]] <- list(fit = as.vector(yhat), lower = as.vector(yhat - half),
                                   upper = as.vector(yhat + half), var = x$var[i, i])
  }
  list(grid = pred.x, x = as.vector(xx), time = as.vector(x$time), y = unclass(as.data.frame(yy)),
       smooth = out)
}

fit <- coxph(Surv(time, event) ~ age + sex + ph.ecog, data = lung_data, ties = "breslow", control = COX_CONTROL)
reference <- list(
  data = "survival::lung, complete cases of time, status, age, sex, ph.ecog; Breslow ties",
  beta = unname(coef(fit)),
  km = smooth_of(cox.zph(fit, transform = "km")),
  identity = smooth_of(cox.zph(fit, transform = "identity"))
)
write_json(reference, file.path(out_dir, "r_zph_plot_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = FALSE)
