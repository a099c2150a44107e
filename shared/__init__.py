"""tousu's own library: events, event store, relay, consumer base, calendar, settings."""
