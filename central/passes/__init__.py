"""Central pass management: keys, the pass store, households, revocation, home quarantine, the change log,
issuance (one or a register), printable cards and the ``gatepass central`` commands for them."""
