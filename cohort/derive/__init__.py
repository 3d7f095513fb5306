"""Derived quantities: baseline, change from baseline, visit windows, responders, remission,
insulin-free intervals. Plain DataFrames in and out; every exclusion is counted."""
