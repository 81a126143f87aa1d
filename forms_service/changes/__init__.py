"""Change sets: three-way diff, policy, review state machine, write-back through an outbox."""
