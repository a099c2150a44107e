"""Entry points: the `tousu` command line and the process runtime behind `tousu up`."""
