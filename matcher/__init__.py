"""matcher: partner-matching recommender for city twinning."""

__version__ = "0.1.0"
