"""Outbound webhooks: endpoints per environment, an outbox, signed at-least-once delivery."""
