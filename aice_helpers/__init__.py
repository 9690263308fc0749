"""Helpers for the AICE survival book: every computation the chapters show lives here."""

__version__ = "0.1.0"
