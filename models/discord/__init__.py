"""Discord's wire format: the enums and flags as Discord's documentation names them (`enums`), what Discord
sends (`interactions`) and what Hunch sends back (`messages`)."""
