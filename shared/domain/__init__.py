"""The domain core: pure decisions about one complaint, no I/O."""
