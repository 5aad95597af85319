"""Netarium: a lab bench for small neural networks."""
__version__ = "0.1.0"
