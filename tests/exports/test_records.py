"""Raw record exports pass the vendor's payload through, with an email the sync recovered
put back in the field the vendor's stream declares (``StreamSpec.email_field``)."""

from __future__ import annotations

from unimeter.db.models import UsageEvent
from unimeter.exports.service import event_payload


def test_a_recovered_email_goes_back_in_the_declared_field() -> None:
    blanked = UsageEvent(raw={"userEmail": "", "model": "m"}, email="ana@example.com")
    assert event_payload(blanked, "userEmail") == {"userEmail": "ana@example.com", "model": "m"}
    # A vendor whose records carry no email field: the payload is passed through as is.
    assert event_payload(blanked, "") == {"userEmail": "", "model": "m"}
    # The vendor's own value always wins.
    sent = UsageEvent(raw={"userEmail": "old@example.com"}, email="new@example.com")
    assert event_payload(sent, "userEmail") == {"userEmail": "old@example.com"}
    assert blanked.raw == {"userEmail": "", "model": "m"}, "the stored payload is not touched"
