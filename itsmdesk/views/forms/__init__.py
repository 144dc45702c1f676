"""forms views."""
