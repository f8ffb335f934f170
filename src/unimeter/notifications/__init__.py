"""Notification channels: Slack and e-mail messages for events and a weekly digest."""
