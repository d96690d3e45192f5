"""The demo: a whole round on sample data."""
