"""Change Management: RFCs, lifecycle, CAB, risk, conflicts, the change calendar."""
