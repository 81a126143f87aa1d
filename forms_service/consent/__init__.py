"""Consent, preferred channel and contact pressure: the one gate every message passes.

The ledger (what each customer agreed to, when, through what and on which wording) and the
rules (pressure caps, quiet hours, channel capacity) are read by one gate, which delivery asks
before every send; its decisions are recorded in the document's history.
"""
