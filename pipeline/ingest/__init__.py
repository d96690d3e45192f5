"""Ingest: read, check, store and archive what members return (inbox, watcher, mailbox)."""
