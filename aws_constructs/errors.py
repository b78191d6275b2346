class ConstructPropsError(ValueError):
    """Props that AWS would reject at apply time, caught at synth. The message says how to fix them."""
