"""The web view served at /ui: static files shipped in the package, and its login (token or one-time link)."""
