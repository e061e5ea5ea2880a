"""welfare-report: the model-welfare section of a system card, from self-report data."""

__version__ = "0.1.0"
