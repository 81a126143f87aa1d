"""one head again: the revisions of the consent, review-station and other session-7 areas meet

The consent ledger (0026_i14l), the conflicts' resolution (0026_i16station), the mailroom's
workload (0026_i16mail), the access codes (0026_i15rest), the contact pressure (0026_i14g) and the other
revisions grown from 0025 in parallel are joined; no table changes here.

Revision ID: 0030_one_head
Revises: 0026_i14l_consent_ledger, 0026_i16station_resolution, 0026_i16mail_workload,
    0026_i15rest_access_codes, 0026_i14g_pressure
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

revision = "0030_one_head"
down_revision = (
    "0026_i14l_consent_ledger",
    "0026_i16station_resolution",
    "0026_i16mail_workload",
    "0026_i15rest_access_codes",
    "0026_i14g_pressure",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
