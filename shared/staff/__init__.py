"""Staff accounts as the domain consults them: who may hold a department's cases.

``directory`` is pure (the decider's side); ``repository`` reads the users table.
"""
