"""Demo data: realistic complaints submitted through intake and driven through
varied lifecycles over NATS, for trying tousu out (`tousu demo seed`)."""
