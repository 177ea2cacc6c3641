"""Signals of the receivables domain, for domains above it that must follow its state.

`receivables_paid` is sent inside the transaction of the posting that settled the receivables,
with `organisation_id`, `receivable_ids` and `sources` (receivable id -> `ReceivableSource`, so
that a receiver can skip what is not its own without a query). Receivers write in that same
transaction, so a receiver's failure undoes the posting too: they must only do what cannot fail
for business reasons (applications mark themselves submitted, for example).
"""

from django.dispatch import Signal

receivables_paid = Signal()
