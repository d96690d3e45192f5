"""The core every job shares: errors, settings, form definitions, identity, values, dates, files and locks."""
