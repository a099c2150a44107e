"""Appraisal (考核) of departments and handlers, policy 一(五)2: a versioned
scheme, the pure computation of scores, ranks and lists, and its inputs."""
