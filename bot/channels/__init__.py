"""Channel adapters: each turns platform updates into ``Incoming`` and ``OutMessage`` into calls."""
