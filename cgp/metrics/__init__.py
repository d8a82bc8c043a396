"""Metric functions shared by plugins (no plugin imports another; they import these)."""
