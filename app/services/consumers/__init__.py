"""What the worker does with the event log: each consumer reacts to some event types, idempotently."""
