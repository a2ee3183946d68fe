"""Store-and-forward between gate devices and the central server, and the central server itself."""
