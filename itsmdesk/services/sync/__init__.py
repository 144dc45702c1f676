"""Remote sites: a local SQLite replica of the shared database, synced with it later.

Step 1 of issue 16 (see docs/sync.md for what exists and what does not yet):

* :mod:`.replica`: ``create_replica`` clones the hub into a new SQLite file and records the
  replica's bookkeeping (site, hub, checkpoints); ``adopt_site`` makes a process working on a
  replica draw references from the site's block.
* :mod:`.ops`: the hub's half: one pushed batch (the replica's journal rows of one service
  call) applied in one transaction, at most once, merged field by field; conflicts journalled
  as ``!conflict`` notes.
* :mod:`.engine`: the replica's half: push the local journal since the push checkpoint, then
  pull the hub's journal since the pull checkpoint, applied with the new checkpoint in one
  transaction.
"""
