# Reference ANCOVA for tests/test_adam_package.py: change in HbA1c at Week 24, ITT population,
# on the records the ADaM package flags (ABLFL baseline, ANL01FL analysis records, AVISIT).
#   Rscript tests/data/adam/ancova_week24.R   (from the repository root; writes ancova_week24_r.csv)
# HbA1c is delivered in mmol/mol; cohort reports it in % (NGSP) by the IFCC-NGSP master
# equation, % = mmol/mol / 10.929 + 2.15, so BASE and AVAL are converted the same way here.
suppressPackageStartupMessages({library(haven); library(emmeans)})
here <- "tests/data/adam"
adsl <- read_xpt(file.path(here, "adsl.xpt"))
adlb <- read_xpt(file.path(here, "adlbc.xpt"))
itt <- adsl$USUBJID[adsl$ITTFL == "Y"]
pct <- function(x) x / 10.929 + 2.15
d <- subset(adlb, USUBJID %in% itt & PARAMCD == "HBA1C" & AVISIT == "Week 24" & ANL01FL == "Y")
d$base <- pct(d$BASE)
d$change <- pct(d$AVAL) - d$base
d$arm <- factor(d$TRT01P, levels = c("Sitagliptin 100 mg", "Cohortide 1 mg"))
fit <- lm(change ~ arm + base, data = d)
em <- emmeans(fit, "arm")
ls <- summary(em, infer = TRUE)
ct <- summary(contrast(em, "trt.vs.ctrl", ref = 1), infer = TRUE)
out <- rbind(
  data.frame(kind = "lsmean", arm = as.character(ls$arm), estimate = ls$emmean, se = ls$SE,
             df = ls$df, ci_lower = ls$lower.CL, ci_upper = ls$upper.CL, p = ls$p.value),
  data.frame(kind = "vs_reference", arm = "Cohortide 1 mg", estimate = ct$estimate,
             se = ct$SE, df = ct$df, ci_lower = ct$lower.CL, ci_upper = ct$upper.CL,
             p = ct$p.value))
out$n <- c(as.vector(table(d$arm)), nrow(d))
write.csv(format(out, digits = 15), file.path(here, "ancova_week24_r.csv"), row.names = FALSE)
print(out, digits = 10)
cat("R", R.version$major, R.version$minor, "emmeans", as.character(packageVersion("emmeans")),
    "haven", as.character(packageVersion("haven")), "\n")
