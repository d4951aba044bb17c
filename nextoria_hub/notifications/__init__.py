"""Emails: written to an outbox with their cause, delivered by a job."""
