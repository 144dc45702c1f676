"""Qt views: the main window, one package per dock, record forms and dialogs.  No SQL here."""
