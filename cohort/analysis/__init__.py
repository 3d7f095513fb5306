"""Analyses: regression (paired, ANCOVA, dose-response), responders, remission prediction,
survival, descriptive tables. Each returns a result with a tidy ``summary`` DataFrame."""
