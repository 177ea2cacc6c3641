"""`event_recorded` is sent in the transaction that recorded the event, with `event_id`,
`organisation_id`, `type` and `subscribers` (see `services.register_subscriber_probe`):
interfaces fan it out (webhooks) through the task outbox."""

from django.dispatch import Signal

event_recorded = Signal()
