"""Link tokens: single-use invitations to link a workspace through the hosted Connect page."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, now_ms


class LinkToken(Base):
    """Only a hash of the token is stored; the plaintext is shown once, to its creator."""

    __tablename__ = "link_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The vendor the link is for: the page asks for its credential fields.
    integration: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    redirect_url: Mapped[str | None] = mapped_column(String(2000))
    # The vendor API the key is checked against and the account calls (None: the default).
    base_url: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    # Set once, in the same transaction that creates the account: a token links one account.
    used_at: Mapped[int | None] = mapped_column(BigInteger)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
