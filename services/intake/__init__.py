"""The intake service: submissions from every channel, acceptance or rejection."""
