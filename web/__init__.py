"""The staff console: a backend-for-frontend over the four public HTTP APIs (see web/README.md)."""
