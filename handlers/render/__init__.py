"""How Hunch looks in Discord: the embeds, buttons and text the handlers answer with (pure functions of the
use cases' results). Numbers, probabilities and times always go through `format`."""
