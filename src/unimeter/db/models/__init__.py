"""All tables. Importing this package registers every model on ``Base.metadata``.

Conventions: times are epoch milliseconds (BIGINT); money is cents scaled by 10**6
(``*_cents_e6``, BIGINT) so sums are exact in SQL on both SQLite and PostgreSQL; every
record synced from a vendor keeps the vendor's payload in ``raw``.
"""

from .accounts import Environment, IntegratedAccount, Keyring
from .analytics import AnalyticsSettings, Anomaly, DirectoryEntry
from .auth import ApiToken
from .billing import (
    AuditEvent,
    BillingGroup,
    GroupDailySpend,
    GroupMembership,
    SpendSnapshot,
    SpendSnapshotMember,
)
from .code import ActivityCount, AgentRun, AiChange, Commit, commit_days
from .connect import LinkToken
from .facts import UsageFact
from .notifications import NotificationChannel, NotificationDelivery
from .rollups import (
    RollupDirtyDay,
    UserDayRollup,
    UserModelMonthRollup,
    usage_day_records,
    usage_fact_days,
    usage_user_days,
)
from .sync import SyncLock, SyncRun, SyncState
from .usage import (
    Actor,
    DailyUsage,
    Member,
    MemberEvent,
    MemberIdentity,
    RemovalUsage,
    UsageEvent,
    UsageEventRevision,
)
from .webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "ActivityCount",
    "Actor",
    "AgentRun",
    "AiChange",
    "AnalyticsSettings",
    "Anomaly",
    "ApiToken",
    "AuditEvent",
    "BillingGroup",
    "Commit",
    "DailyUsage",
    "DirectoryEntry",
    "Environment",
    "GroupDailySpend",
    "GroupMembership",
    "IntegratedAccount",
    "Keyring",
    "LinkToken",
    "Member",
    "MemberEvent",
    "MemberIdentity",
    "NotificationChannel",
    "NotificationDelivery",
    "RemovalUsage",
    "RollupDirtyDay",
    "SpendSnapshot",
    "SpendSnapshotMember",
    "SyncLock",
    "SyncRun",
    "SyncState",
    "UsageEvent",
    "UsageEventRevision",
    "UsageFact",
    "UserDayRollup",
    "UserModelMonthRollup",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "commit_days",
    "usage_day_records",
    "usage_fact_days",
    "usage_user_days",
]
