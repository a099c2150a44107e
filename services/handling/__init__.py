"""The handling service: investigation, plan, progress, extension, result, feedback."""
