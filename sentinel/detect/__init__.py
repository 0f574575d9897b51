"""Learned routines and unusual-inactivity detection: pure, replayable, measurable."""
