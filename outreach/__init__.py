"""outreach: tailored letters to Members of Parliament for a professional body's public-affairs team."""

__version__ = "0.1.0"
