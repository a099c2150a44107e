"""Routing's settings; the rules and their matcher live in the routing service
(:mod:`tousu.services.routing`)."""
