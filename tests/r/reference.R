# Reference values from R's `survival` package for the aice_helpers tests.
#
# Usage (from anywhere):  Rscript tests/r/reference.R [output_dir]
# Default output_dir is tests/fixtures next to this script's folder. Writes
#   lung.csv                      the NCCTG lung data exactly as survival ships it
#   r_survival_reference.json     every reference number below, plus the small inline inputs
# Requires: r-base, survival, jsonlite. Deterministic: no random numbers, no dates.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

script_dir <- function() {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) == 0) return(getwd())
  dirname(normalizePath(sub("^--file=", "", file_arg[1])))
}

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else file.path(dirname(script_dir()), "fixtures")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

CONF_LEVEL <- 0.95
LANDMARKS_DAYS <- c(90, 180, 365, 730)
# Tight Newton-Raphson control so that the reference is the maximum itself, not R's
# default stopping point (eps = 1e-9 on the relative log-likelihood change).
COX_CONTROL <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)

lung_data <- survival::lung
lung_data$event <- as.integer(lung_data$status == 2)     # 1 death, 0 censored

# --- Kaplan-Meier medians (Brookmeyer-Crowley: where the pointwise bands cross 0.5) ---
km_median <- function(time, event, conf_type) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = conf_type, conf.int = CONF_LEVEL)
  q <- quantile(fit, probs = 0.5)
  list(estimate = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
}
km_medians <- function(time, event) {
  sapply(c("log", "log-log", "plain"), function(ct) km_median(time, event, ct), simplify = FALSE)
}

# --- S(t) at landmarks with the pointwise interval, n at risk, cumulative events ---
survival_at <- function(time, event, landmarks, conf_type) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = conf_type, conf.int = CONF_LEVEL)
  s <- summary(fit, times = landmarks)
  list(
    landmark = landmarks,
    survival = s$surv,
    std_err = s$std.err,                       # Greenwood SE of S(t), survival scale
    lower = s$lower,
    upper = s$upper,
    at_risk = s$n.risk,
    events_to_t = sapply(landmarks, function(t) sum(event[time <= t]))
  )
}

# --- log-rank test (survdiff, rho = 0) ---
logrank <- function(time, event, group) {
  sd <- survdiff(Surv(time, event) ~ group)
  df <- sum(sd$exp > 0) - 1
  list(chisq = unname(sd$chisq), df = df,
       p = pchisq(sd$chisq, df = df, lower.tail = FALSE),
       observed = unname(sd$obs), expected = unname(sd$exp), groups = names(sd$n))
}

# --- Cox model, Wald statistics ---
cox <- function(formula, data, ties) {
  fit <- coxph(formula, data = data, ties = ties, control = COX_CONTROL)
  s <- summary(fit)
  list(
    ties = ties,
    terms = rownames(s$coefficients),
    coef = unname(s$coefficients[, "coef"]),
    se = unname(s$coefficients[, "se(coef)"]),
    hr = unname(s$coefficients[, "exp(coef)"]),
    lower = unname(s$conf.int[, "lower .95"]),
    upper = unname(s$conf.int[, "upper .95"]),
    p = unname(s$coefficients[, "Pr(>|z|)"]),
    loglik = unname(fit$loglik[2]),
    loglik_null = unname(fit$loglik[1]),
    concordance = unname(fit$concordance["concordance"]),
    n = fit$n,
    events = fit$nevent,
    iterations = fit$iter
  )
}

# --- proportional hazards: cox.zph (survival >= 3.0: a score test) for three time transforms ---
ZPH_TRANSFORMS <- c("km", "rank", "identity")
zph_tests <- function(fit) {
  sapply(ZPH_TRANSFORMS, function(tr) {
    tbl <- cox.zph(fit, transform = tr)$table
    list(terms = rownames(tbl), chisq = unname(tbl[, "chisq"]), df = unname(tbl[, "df"]),
         p = unname(tbl[, "p"]))
  }, simplify = FALSE)
}

# --- scaled Schoenfeld residuals (residuals.coxph: d * r %*% var + beta), one row per death ---
scaled_schoenfeld <- function(fit) {
  r <- residuals(fit, type = "scaledsch")
  columns <- lapply(seq_len(ncol(r)), function(j) unname(r[, j]))
  c(list(time = as.numeric(rownames(r))), setNames(columns, colnames(r)))
}

# --- the pre-3.0 cox.zph approximation with the identity transform, written out by hand:
#     z_j = (sum_k (t_k - mean t) r*_kj)^2 / (d * var_jj * sum_k (t_k - mean t)^2), r* = d * r %*% var ---
zph_old_identity <- function(fit) {
  r <- residuals(fit, type = "schoenfeld")
  times <- as.numeric(rownames(r))
  d <- nrow(r)
  centred <- times - mean(times)
  scaled <- r %*% fit$var * d
  test <- drop(centred %*% scaled)
  chisq <- test^2 / (diag(fit$var) * d * sum(centred^2))
  list(terms = colnames(r), chisq = unname(chisq), p = unname(pchisq(chisq, 1, lower.tail = FALSE)))
}

# --- median follow-up by reverse Kaplan-Meier (censoring is the "event") ---
reverse_km <- function(time, event) {
  fit <- survfit(Surv(time, 1 - event) ~ 1)
  q <- quantile(fit, probs = 0.5)
  list(median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper),
       n_censored = sum(event == 0))
}

# ---------------------------------------------------------------------------
ecog_data <- lung_data[!is.na(lung_data$ph.ecog), ]
ecog_data$ecog3 <- factor(ifelse(ecog_data$ph.ecog >= 2, "2+", as.character(ecog_data$ph.ecog)),
                          levels = c("0", "1", "2+"))
cox_data <- ecog_data
cox_data$female <- as.integer(cox_data$sex == 2)
cox_data$ecog_ge2 <- as.integer(cox_data$ph.ecog >= 2)

# The same rows with time in whole months (ceiling of days / 30.4375): many tied deaths.
DAYS_PER_MONTH <- 30.4375
months_data <- cox_data
months_data$time <- ceiling(months_data$time / DAYS_PER_MONTH)
fit_lung <- function(data, ties) coxph(Surv(time, event) ~ age + female + ecog_ge2, data = data, ties = ties,
                                       control = COX_CONTROL)

# Small inline inputs, written into the JSON so Python reads the very same numbers.
plateau <- list(time = 1:10, event = rep(1L, 10))       # S = 0.5 exactly on [5, 6)
not_reached <- list(time = 1:10, event = c(1L, 0L, 0L, 1L, 0L, 0L, 0L, 1L, 0L, 0L))  # S stays > 0.5
zero_events <- list(
  time  = c(5, 8, 12, 15, 20, 22, 30, 31, 40, 45, 50, 60, 7, 18, 33, 52),
  event = c(1, 1, 0,  1,  1,  0,  1,  1,  0,  1,  1,  0,  0, 0,  0,  0),
  group = c(rep("A", 6), rep("B", 6), rep("C", 4))       # group C has no event
)

reference <- list(
  meta = list(
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    conf_level = CONF_LEVEL,
    cox_control = list(eps = COX_CONTROL$eps, toler.chol = COX_CONTROL$toler.chol,
                       iter.max = COX_CONTROL$iter.max),
    lung_event = "event = status == 2 (death); time in days",
    cox_covariates = "age (years), female = sex == 2, ecog_ge2 = ph.ecog >= 2; rows with ph.ecog NA dropped",
    ecog3 = "ph.ecog 0, 1, >=2; rows with ph.ecog NA dropped"
  ),
  lung = list(
    n = nrow(lung_data),
    events = sum(lung_data$event),
    km_median = km_medians(lung_data$time, lung_data$event),
    km_median_by_sex = lapply(split(lung_data, lung_data$sex),
                              function(d) km_medians(d$time, d$event)),
    survival_at = sapply(c("log-log", "log", "plain"),
                         function(ct) survival_at(lung_data$time, lung_data$event, LANDMARKS_DAYS, ct),
                         simplify = FALSE),
    logrank_sex = logrank(lung_data$time, lung_data$event, lung_data$sex),
    logrank_ecog3 = logrank(ecog_data$time, ecog_data$event, ecog_data$ecog3),
    cox_efron = cox(Surv(time, event) ~ age + female + ecog_ge2, cox_data, "efron"),
    cox_breslow = cox(Surv(time, event) ~ age + female + ecog_ge2, cox_data, "breslow"),
    cox_ecog3_efron = cox(Surv(time, event) ~ ecog3, ecog_data, "efron"),
    cox_ecog3_breslow = cox(Surv(time, event) ~ ecog3, ecog_data, "breslow"),
    reverse_km = reverse_km(lung_data$time, lung_data$event),
    cox_zph = sapply(c("efron", "breslow"), function(ties) zph_tests(fit_lung(cox_data, ties)), simplify = FALSE),
    scaled_schoenfeld = sapply(c("efron", "breslow"), function(ties) scaled_schoenfeld(fit_lung(cox_data, ties)),
                               simplify = FALSE),
    zph_old_identity_efron = zph_old_identity(fit_lung(cox_data, "efron"))
  ),
  lung_months = list(
    time = "ceiling(time / 30.4375): lung days in whole months; rows and covariates as cox_covariates",
    n_distinct_death_times = length(unique(months_data$time[months_data$event == 1])),
    cox_efron = cox(Surv(time, event) ~ age + female + ecog_ge2, months_data, "efron"),
    cox_breslow = cox(Surv(time, event) ~ age + female + ecog_ge2, months_data, "breslow"),
    cox_zph = sapply(c("efron", "breslow"), function(ties) zph_tests(fit_lung(months_data, ties)), simplify = FALSE)
  ),
  plateau = c(plateau, list(km_median = km_medians(plateau$time, plateau$event))),
  not_reached = c(not_reached, list(km_median = km_medians(not_reached$time, not_reached$event))),
  zero_events = c(zero_events,
                  list(logrank = logrank(zero_events$time, zero_events$event, zero_events$group)))
)

write.csv(survival::lung, file.path(out_dir, "lung.csv"), row.names = FALSE, na = "NA")
writeLines(toJSON(reference, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(out_dir, "r_survival_reference.json"))
cat("wrote", file.path(out_dir, "r_survival_reference.json"), "\n")
