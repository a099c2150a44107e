"""tousu's own library: what several services need — the domain, events, event store,
consumer runtime, calendar, privacy, settings."""
