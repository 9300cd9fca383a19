"""Signed webhooks: the signing scheme, the address policy, the event payload, retry timing and
one HTTP delivery. The outbox's SQL is in db/webhook_outbox.py and the delivery loop in
worker/webhook_sender.py; nothing here touches the database.
"""
