"""The FOCUS 1.2 cost and usage export (FinOps Open Cost and Usage Specification).

One row per (integrated account, UTC day, user, model, product) with usage, read from the
detail usage facts (never a vendor's raw records), summed over surfaces. A row is kept when
it has requests, tokens or a non-zero charge, so every (day, user, model) with usage has a
row, zero-cost ones included (errored requests, the user's own API key): they carry
consumed tokens, and FOCUS allows ``Usage`` rows of cost 0. The provider is the vendor (its
connector's display name), the service its product.

Costs (decimal dollars, exact to 10**-8):

- ``EffectiveCost`` = everything charged for the usage, included and usage-based. Usage
  included in the plan is paid for up front by the seat fee; its charge is the value
  the vendor draws from the included allowance, i.e. the usage's share of that prepaid fee
  (the amortised cost in FOCUS terms). The sum of EffectiveCost equals the consumption and
  chargeback totals.
- ``BilledCost`` = the usage-based part only: what is invoiced on top of the seats. For
  included usage it is 0 (prepaid), as FOCUS requires for covered charges.
- ``ListCost`` = ``ContractedCost`` = ``EffectiveCost``: charges are computed at the
  provider's published model rates, and the API exposes no negotiated price.
- ``x_IncludedCost`` splits out the included part (custom column).

Charges a vendor only estimates (a product in its ``FactProfile.estimated_charges``, such as
a per-person estimated cost while the billed cost is reported on another product) are not
exported: FOCUS is invoice-grade, and the same spend would otherwise count twice.

Seat fees themselves (``Purchase`` rows) are not exported: the API gives no invoice line for
them. The billing period is the calendar month (UTC) of the charge; the charge period is
its UTC day.

Columns (types and nullability from the FOCUS 1.2 column definitions):

- Present: the 21 mandatory columns, the recommended ``ChargeFrequency``,
  ``ServiceSubcategory`` and, always null, ``InvoiceId`` (the API ties no charge to an
  invoice, and FOCUS asks for null then), and the conditional ``ConsumedQuantity``/``ConsumedUnit``
  (tokens), ``SkuId`` (the model), ``SubAccountId``/``SubAccountName`` (the user's email
  and display name; null for usage no user is attributed to), ``Tags`` and, always null,
  ``ResourceId``/``ResourceName`` (usage is not billed per provisioned resource) and
  ``RegionId``/``RegionName``/``AvailabilityZone`` (no regions).
- Left out: commitment-discount and capacity-reservation columns (none), unit prices,
  ``SkuPriceId``/``SkuMeter``/``SkuPriceDetails`` and ``PricingCategory`` (rates differ by
  token kind and the price list has no price ids, so one unit price would be invented),
  account and sub-account types (one type each).
- ``PricingQuantity``/``PricingUnit`` are total tokens / ``Tokens``, like the consumed ones.
  Both quantities are decimals (FOCUS types them so): the CSV writes every decimal with a
  point (``1234.0``), so readers that infer types do not take whole token counts for
  integers.
- ``Tags`` is a JSON object of provider-defined tags, prefixed ``unimeter/`` as FOCUS asks
  of provider-defined keys: ``unimeter/model``, ``unimeter/user`` and
  ``unimeter/tenant_id`` (only those with a value).
- Custom columns, after the FOCUS ones: ``x_Events`` (requests), ``x_InputTokens``,
  ``x_OutputTokens``, ``x_CacheReadTokens``, ``x_CacheWriteTokens``, ``x_IncludedCost``.
  Requests and tokens are null where the vendor does not report them (unknown, not 0), and
  so are ``ConsumedQuantity``/``PricingQuantity`` without tokens; costs a vendor does not
  report are 0, as FOCUS wants every cost column filled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

import orjson

from .tables import Column, Kind

FocusType = Literal["String", "Decimal", "DateTime", "JSON", "Integer"]
Level = Literal["Mandatory", "Recommended", "Conditional", "Custom"]

FOCUS_VERSION = "1.2"
TAG_PREFIX = "unimeter/"


@dataclass(frozen=True, slots=True)
class FocusColumn:
    name: str
    type: FocusType
    nullable: bool  # the spec's "allows nulls"
    level: Level
    # The spec's allowed values (for the service category and subcategory, only the one
    # this export writes: the spec lists many more); None: free text.
    allowed: tuple[str, ...] | None = None
    scale: int = 8  # digits after the point, for decimals


def _c(
    name: str,
    type_: FocusType,
    nullable: bool,
    level: Level = "Mandatory",
    allowed: tuple[str, ...] | None = None,
    scale: int = 8,
) -> FocusColumn:
    return FocusColumn(name, type_, nullable, level, allowed, scale)


STRING: Final = "String"
DECIMAL: Final = "Decimal"
DATETIME: Final = "DateTime"
JSON: Final = "JSON"
INTEGER: Final = "Integer"

# FOCUS columns in alphabetical order, as the spec lists them, then the custom ones.
COLUMNS: tuple[FocusColumn, ...] = (
    _c("AvailabilityZone", STRING, True, "Recommended"),
    _c("BilledCost", DECIMAL, False),
    _c("BillingAccountId", STRING, False),
    _c("BillingAccountName", STRING, True),
    _c("BillingCurrency", STRING, False),
    _c("BillingPeriodEnd", DATETIME, False),
    _c("BillingPeriodStart", DATETIME, False),
    _c("ChargeCategory", STRING, False, allowed=("Adjustment", "Credit", "Purchase", "Tax", "Usage")),
    _c("ChargeClass", STRING, True, allowed=("Correction",)),
    _c("ChargeDescription", STRING, True),
    _c("ChargeFrequency", STRING, False, "Recommended", ("One-Time", "Recurring", "Usage-Based")),
    _c("ChargePeriodEnd", DATETIME, False),
    _c("ChargePeriodStart", DATETIME, False),
    _c("ConsumedQuantity", DECIMAL, True, "Conditional", scale=0),
    _c("ConsumedUnit", STRING, True, "Conditional"),
    _c("ContractedCost", DECIMAL, False),
    _c("EffectiveCost", DECIMAL, False),
    _c("InvoiceId", STRING, True, "Recommended"),
    _c("InvoiceIssuerName", STRING, False),
    _c("ListCost", DECIMAL, False),
    _c("PricingQuantity", DECIMAL, True, scale=0),
    _c("PricingUnit", STRING, True),
    _c("ProviderName", STRING, False),
    _c("PublisherName", STRING, False),
    _c("RegionId", STRING, True, "Conditional"),
    _c("RegionName", STRING, True, "Conditional"),
    _c("ResourceId", STRING, True, "Conditional"),
    _c("ResourceName", STRING, True, "Conditional"),
    _c("ServiceCategory", STRING, False, allowed=("AI and Machine Learning",)),
    _c("ServiceName", STRING, False),
    _c("ServiceSubcategory", STRING, False, "Recommended", ("Generative AI",)),
    _c("SkuId", STRING, True, "Conditional"),
    _c("SubAccountId", STRING, True, "Conditional"),
    _c("SubAccountName", STRING, True, "Conditional"),
    _c("Tags", JSON, True, "Conditional"),
    _c("x_Events", INTEGER, True, "Custom"),
    _c("x_InputTokens", INTEGER, True, "Custom"),
    _c("x_OutputTokens", INTEGER, True, "Custom"),
    _c("x_CacheReadTokens", INTEGER, True, "Custom"),
    _c("x_CacheWriteTokens", INTEGER, True, "Custom"),
    _c("x_IncludedCost", DECIMAL, False, "Custom"),
)  # fmt: skip
NAMES = tuple(c.name for c in COLUMNS)

_KINDS: dict[FocusType, Kind] = {
    "String": "string", "Decimal": "decimal", "DateTime": "timestamp", "JSON": "string",
    "Integer": "int",
}  # fmt: skip
TABLE: tuple[Column, ...] = tuple(
    Column(c.name, _KINDS[c.type], nullable=c.nullable, scale=c.scale) for c in COLUMNS
)


@dataclass(frozen=True, slots=True)
class Account:
    """What a row needs of its integrated account."""

    id: str
    name: str | None
    tenant_id: str | None
    provider: str  # the vendor, as its connector names it
    # product id -> its name (the FOCUS service); an unknown product shows its id
    services: Mapping[str, str] = field(default_factory=dict)

    def service(self, product: str) -> str:
        return self.services.get(product) or product or self.provider


@dataclass(frozen=True, slots=True)
class Charge:
    """One (account, day, user, model, product) of the detail usage facts; money in
    cents * 10**6; None: the vendor does not report it."""

    account_id: str
    day: dt.date
    user_email: str  # "" when no user is attributed
    model: str
    product: str
    events: int | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    charged_cents_e6: int | None
    included_cents_e6: int | None
    usage_based_cents_e6: int | None


def money(cents_e6: int) -> Decimal:
    """Cents * 10**6 → exact dollars."""
    return Decimal(cents_e6).scaleb(-8)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def billing_period(day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month of ``day``: first day, first day of the next month."""
    first = day.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1)


def row(charge: Charge, account: Account, user_name: str | None) -> tuple[object, ...]:
    """The FOCUS row of one charge, in ``COLUMNS`` order."""
    service, provider = account.service(charge.product), account.provider
    user = charge.user_email or None
    model = charge.model or None
    kinds = (charge.input_tokens, charge.output_tokens, charge.cache_read_tokens,
             charge.cache_write_tokens)  # fmt: skip
    known = [n for n in kinds if n is not None]
    tokens = Decimal(sum(known)) if known else None
    period_start, period_end = billing_period(charge.day)
    effective = money(charge.charged_cents_e6 or 0)
    tags = {
        f"{TAG_PREFIX}model": model,
        f"{TAG_PREFIX}user": user,
        f"{TAG_PREFIX}tenant_id": account.tenant_id,
    }
    who = user or "an unattributed user"
    values: dict[str, object] = {
        "AvailabilityZone": None,
        "BilledCost": money(charge.usage_based_cents_e6 or 0),
        "BillingAccountId": account.id,
        "BillingAccountName": account.name,
        "BillingCurrency": "USD",
        "BillingPeriodEnd": _midnight(period_end),
        "BillingPeriodStart": _midnight(period_start),
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": f"{service} usage: {model or 'unknown model'} by {who}",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _midnight(charge.day + dt.timedelta(days=1)),
        "ChargePeriodStart": _midnight(charge.day),
        "ConsumedQuantity": tokens,
        "ConsumedUnit": "Tokens" if tokens is not None else None,
        "ContractedCost": effective,
        "EffectiveCost": effective,
        "InvoiceId": None,
        "InvoiceIssuerName": provider,
        "ListCost": effective,
        "PricingQuantity": tokens,
        "PricingUnit": "Tokens" if tokens is not None else None,
        "ProviderName": provider,
        "PublisherName": provider,
        "RegionId": None,
        "RegionName": None,
        "ResourceId": None,
        "ResourceName": None,
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": service,
        "ServiceSubcategory": "Generative AI",
        "SkuId": model,
        "SubAccountId": user,
        "SubAccountName": (user_name or user) if user else None,
        "Tags": orjson.dumps({k: v for k, v in tags.items() if v is not None}).decode(),
        "x_Events": charge.events,
        "x_InputTokens": charge.input_tokens,
        "x_OutputTokens": charge.output_tokens,
        "x_CacheReadTokens": charge.cache_read_tokens,
        "x_CacheWriteTokens": charge.cache_write_tokens,
        "x_IncludedCost": money(charge.included_cents_e6 or 0),
    }
    return tuple(values[name] for name in NAMES)
