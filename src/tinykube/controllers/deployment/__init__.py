"""The Deployment controller, split by concern as upstream's: util (pure arithmetic and status),
rollback (revision renumbering), progress (the Progressing condition and deadline), sync (the
writes every path shares), rolling, recreate, and the controller loop."""
