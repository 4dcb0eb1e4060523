"""The data model: import every model here so metadata (and Alembic) sees them all."""

from fundraiser.models.base import Base, IllegalStatusMove, utcnow
from fundraiser.models.campaign import Campaign, CampaignTranslation, OutboundClick
from fundraiser.models.donation import (
    DonationIntent,
    Frequency,
    IntentStatus,
    IntentStatusChange,
)
from fundraiser.models.events import AnnouncedChange, AuditEntry, StripeEvent
from fundraiser.models.ledger import CHANNELS, Channel, EntryKind, LedgerEntry, ledger_key
from fundraiser.models.login_session import LoginSession
from fundraiser.models.note import StaffNote
from fundraiser.models.pledge import Pledge, PledgeStatus, PledgeStatusChange
from fundraiser.models.rates import ExchangeRate
from fundraiser.models.reconcile import ChannelNotice, ReconcileRun, WebhookFailure
from fundraiser.models.rollup import (
    LedgerChannelTotal,
    LedgerDonor,
    LedgerDonorKey,
    LedgerGiftAmount,
    LedgerQuarterChannel,
    LedgerQuarterHour,
    LedgerSupporter,
    LedgerSupporterCount,
    LedgerTotal,
)
from fundraiser.models.supporter import Role, Supporter
from fundraiser.models.tokens import UsedToken

__all__ = [
    "CHANNELS",
    "Channel",
    "ChannelNotice",
    "LedgerChannelTotal",
    "LedgerQuarterChannel",
    "ledger_key",
    "AnnouncedChange",
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignTranslation",
    "DonationIntent",
    "EntryKind",
    "ExchangeRate",
    "Frequency",
    "IllegalStatusMove",
    "IntentStatus",
    "IntentStatusChange",
    "LedgerDonor",
    "LedgerDonorKey",
    "LedgerEntry",
    "LedgerGiftAmount",
    "LedgerQuarterHour",
    "LedgerSupporter",
    "LedgerSupporterCount",
    "LedgerTotal",
    "LoginSession",
    "OutboundClick",
    "Pledge",
    "PledgeStatus",
    "PledgeStatusChange",
    "ReconcileRun",
    "StaffNote",
    "Role",
    "StripeEvent",
    "Supporter",
    "UsedToken",
    "WebhookFailure",
    "utcnow",
]
