"""one head again: the revisions of the second floor's first areas meet here

Sessions and sign-in failures (0021), short links (0022), messages (0023), drafts (0024) and the other revisions grown from 0019 and
0020 in parallel are joined; no table changes here.

Revision ID: 0025_one_head
Revises: 0021_session_records, 0022_short_links, 0023_messages, 0024_drafts
Create Date: 2026-12-07 11:50:00
"""

from __future__ import annotations

revision = "0025_one_head"
down_revision = (
    "0021_session_records",
    "0022_short_links",
    "0023_messages",
    "0024_drafts",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
