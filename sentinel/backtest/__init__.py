"""The carer's tools over an event history: backtest beside reference detectors, robustness conditions, plots."""
