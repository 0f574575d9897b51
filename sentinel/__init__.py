"""sentinel: a private, local home-wellbeing monitor for people who live alone."""

__version__ = "0.1.0"
