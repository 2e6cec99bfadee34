"""FastAPI plumbing every service shares: app factory pieces, errors, request ids, sessions, auth, health."""
