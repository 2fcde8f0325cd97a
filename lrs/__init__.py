"""An xAPI 1.0.3 and 2.0 Learning Record Store for many organisations."""

__version__ = "0.1.0"
