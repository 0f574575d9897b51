"""The notifier: alerts to the circle's phones, escalation, acknowledgements, silence."""
