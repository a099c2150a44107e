"""Demo data: realistic complaints submitted through intake and driven through
varied lifecycles, for trying tousu out (`tousu demo seed`)."""
