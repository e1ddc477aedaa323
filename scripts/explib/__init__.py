"""Support library of scripts/experiment and scripts/report (not a public API)."""
