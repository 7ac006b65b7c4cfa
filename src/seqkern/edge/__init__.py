"""The venue edge: sockets, book sync, rate limits, order entry and publishing to the CC."""
