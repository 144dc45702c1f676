"""E-mail: the unmatched mail dock, the mail settings page, a ticket's mail thread."""
