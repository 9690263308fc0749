# Public datasets of R's `survival` package and R's answers on them, for tests/test_r_datasets.py.
#
# Usage:  Rscript tests/r/r_datasets.R [output_dir]      (default: tests/fixtures/r_datasets)
# Writes  lung.csv, pbc.csv, veteran.csv, ovarian.csv, colon.csv (the columns the tests use) and
#         reference.json (every number below). Requires survival and jsonlite. Deterministic.
# R's defaults are used throughout (coxph.control(): eps 1e-9, iter.max 30): the tests compare
# with what R prints.

suppressPackageStartupMessages({ library(survival); library(jsonlite) })

script_dir <- function() {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) == 0) return(getwd())
  dirname(normalizePath(sub("^--file=", "", file_arg[1])))
}
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path(dirname(script_dir()), "fixtures", "r_datasets")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

lung <- survival::lung[, c("inst", "time", "status", "age", "sex", "ph.ecog", "ph.karno", "wt.loss")]
lung$event <- as.integer(lung$status == 2)
pbc <- survival::pbc[, c("id", "time", "status", "trt", "age", "sex", "edema", "bili", "albumin", "protime", "stage")]
pbc$event <- as.integer(pbc$status == 2)
pbc$months <- ceiling(pbc$time / 30.4375)   # times rounded up to whole months and years: heavy ties
pbc$years <- ceiling(pbc$time / 365.25)
pbc$edema1 <- as.integer(pbc$edema == 1)    # 20 patients, a small group at high hazard
pbc$edema05 <- as.integer(pbc$edema == 0.5)
veteran <- survival::veteran
veteran$event <- veteran$status
ovarian <- survival::ovarian
ovarian$event <- ovarian$fustat
colon <- subset(survival::colon, etype == 2, select = c(id, time, status, rx, sex, age, obstruct, nodes, differ, extent))
colon$event <- colon$status
colon$rx <- as.character(colon$rx)

write_data <- function(df, name) write.csv(df, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE, na = "")
write_data(lung, "lung"); write_data(pbc, "pbc"); write_data(veteran, "veteran")
write_data(ovarian, "ovarian"); write_data(colon, "colon")

num <- function(x) { x <- unname(as.numeric(x)); x[is.na(x)] <- NA; x }

km <- function(data, conf_type = "log") {
  fit <- survfit(Surv(time, event) ~ 1, data = data, conf.type = conf_type)
  list(time = num(fit$time), n_risk = num(fit$n.risk), n_event = num(fit$n.event), surv = num(fit$surv),
       std_err_log = num(fit$std.err), lower = num(fit$lower), upper = num(fit$upper))
}
median_ci <- function(time, event, conf_type) {
  q <- quantile(survfit(Surv(time, event) ~ 1, conf.type = conf_type), probs = 0.5)
  list(estimate = num(q$quantile), lower = num(q$lower), upper = num(q$upper))
}
medians <- function(time, event) sapply(c("log", "log-log", "plain"), function(ct) median_ci(time, event, ct),
                                        simplify = FALSE)
landmarks <- function(time, event, at) sapply(c("log", "log-log", "plain"), function(ct) {
  s <- summary(survfit(Surv(time, event) ~ 1, conf.type = ct), times = at)
  list(time = num(s$time), surv = num(s$surv), std_err = num(s$std.err), lower = num(s$lower), upper = num(s$upper),
       n_risk = num(s$n.risk))
}, simplify = FALSE)

logrank <- function(formula, data, scores = NULL) {
  sd <- survdiff(formula, data = data)
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  expd <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(expd > 0) - 1
  out <- list(chisq = num(sd$chisq), df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE), observed = num(obs),
              expected = num(expd), n = num(sd$n), groups = names(sd$n),
              n_dropped = length(attr(model.frame(formula, data), "na.action")))
  if (!is.null(scores)) {   # the standard trend test from survdiff's O, E and V
    u <- sum(scores * (obs - expd)); v <- drop(t(scores) %*% sd$var %*% scores)
    out$trend_chisq <- u^2 / v; out$trend_p <- pchisq(u^2 / v, 1, lower.tail = FALSE)
  }
  out
}

cox <- function(formula, data, ties, weights = NULL) {
  warned <- character(0)
  fit <- withCallingHandlers(
    if (is.null(weights)) coxph(formula, data = data, ties = ties)
    else coxph(formula, data = cbind(data, case_weight = weights), ties = ties, weights = case_weight),
    warning = function(w) { warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning") })
  s <- summary(fit)
  list(ties = ties, terms = names(coef(fit)), coef = num(coef(fit)), se = num(sqrt(diag(fit$var))),
       loglik = num(fit$loglik), wald = num(fit$wald.test), score = num(fit$score),
       lr = num(2 * diff(fit$loglik)), df = sum(!is.na(coef(fit))), concordance = num(s$concordance[1]),
       n = fit$n, events = fit$nevent, n_dropped = length(fit$na.action), iterations = fit$iter,
       warnings = warned)
}

ref <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")))
ref$km <- list(lung = km(lung), lung_loglog = km(lung, "log-log"), veteran = km(veteran))
ref$medians <- list(lung = medians(lung$time, lung$event), veteran = medians(veteran$time, veteran$event),
                    ovarian = medians(ovarian$futime, ovarian$event),
                    lung_female = with(subset(lung, sex == 2), medians(time, event)))
ref$landmarks <- list(lung = landmarks(lung$time, lung$event, c(180, 365, 730)),
                      veteran = landmarks(veteran$time, veteran$event, c(30, 90, 180)))
rev_fit <- quantile(survfit(Surv(time, 1 - event) ~ 1, data = lung), probs = 0.5)
ref$reverse_km <- list(lung = list(estimate = num(rev_fit$quantile), lower = num(rev_fit$lower), upper = num(rev_fit$upper)))
ref$logrank <- list(
  lung_sex = logrank(Surv(time, event) ~ sex, lung),
  lung_ecog = logrank(Surv(time, event) ~ ph.ecog, lung, scores = c(1, 2, 3, 4)),
  veteran_celltype = logrank(Surv(time, event) ~ celltype, veteran),
  veteran_trt_by_celltype = logrank(Surv(time, event) ~ trt + strata(celltype), veteran),
  lung_sex_by_ecog = logrank(Surv(time, event) ~ sex + strata(ph.ecog), lung),
  colon_rx = logrank(Surv(time, event) ~ rx, colon),
  pbc_stage_trend = logrank(Surv(time, event) ~ stage, pbc, scores = c(1, 2, 3, 4)))
ref$cox <- list()
for (ties in c("efron", "breslow")) {
  ref$cox[[ties]] <- list(
    lung = cox(Surv(time, event) ~ age + sex + ph.ecog, lung, ties),
    lung_strata = cox(Surv(time, event) ~ age + sex + strata(ph.ecog), lung, ties),
    pbc_mayo2 = cox(Surv(time, event) ~ log(bili) + edema, pbc, ties),
    pbc_mayo = cox(Surv(time, event) ~ age + log(bili) + log(albumin) + log(protime) + edema, pbc, ties),
    pbc_months = cox(Surv(months, event) ~ log(bili) + edema, pbc, ties),
    pbc_years = cox(Surv(years, event) ~ log(bili) + edema, pbc, ties),
    pbc_edema_groups = cox(Surv(time, event) ~ edema05 + edema1, pbc, ties),
    pbc_years_groups = cox(Surv(years, event) ~ edema05 + edema1 + log(bili), pbc, ties),
    veteran = cox(Surv(time, event) ~ trt + karno + age + strata(celltype), veteran, ties),
    veteran_weighted = cox(Surv(time, event) ~ trt + karno, veteran, ties, weights = veteran$diagtime),
    ovarian = cox(Surv(futime, event) ~ age + ecog.ps + rx, ovarian, ties),
    colon = cox(Surv(time, event) ~ age + sex + nodes + obstruct + differ, colon, ties),
    lung_infinite = cox(Surv(time, event) ~ age + censored_late, transform(lung, censored_late = as.integer(
      event == 0 & time > 700)), ties))
}
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           file.path(out_dir, "reference.json"))
