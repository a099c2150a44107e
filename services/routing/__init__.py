"""The routing service: dispatch to the responsible department, claim and return."""
