"""Reusable dataset readers and the built-in procedural datasets."""
