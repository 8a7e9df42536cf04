"""renderer layer."""
