"""Parsers for the jobs we own."""
