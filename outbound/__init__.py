"""outbound: outbound phone-call campaigns for AI voice agents."""

__version__ = "0.1.0"
__all__ = ["__version__"]
