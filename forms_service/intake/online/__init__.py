"""The online channel: a signed link opened, the identity question, prefill, submit."""
