"""Usage statistics: the store and the reports built on it."""
