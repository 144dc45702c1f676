"""The rules of each process.  No Qt imports here; views, reports and the CLI call these."""
