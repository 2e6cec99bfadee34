"""Events: the transactional outbox, their delivery over signed HTTP, and the receivers' inbox."""
