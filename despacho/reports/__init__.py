"""Reports written from the code and the last test run (docs/endpoints.md)."""
