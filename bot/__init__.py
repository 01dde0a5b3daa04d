"""Orienta: rights information for migrants in Mexico."""

__version__ = "0.1.0"
