"""Fault injection: complaints driven through their whole lifecycle while
every server and service is killed with SIGKILL in turn and restarted; then
an audit of what was lost, duplicated or sent twice (`tousu chaos`)."""
