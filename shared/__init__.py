"""The services' common kernel: settings, database, events, outbox, consumer, auth, errors, logs, metrics."""
