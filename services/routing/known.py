"""Department codes the rules may name: those of the commitment register.

The only place routing touches the intake package, and only its departments.
"""

from __future__ import annotations


def register_departments() -> frozenset[str] | None:
    """The register's department codes; None when there is no register to check against."""
    try:
        from tousu.shared.intake.commitments import CommitmentRegister
    except ImportError:
        return None
    return frozenset(d.code for d in CommitmentRegister.load().departments)
