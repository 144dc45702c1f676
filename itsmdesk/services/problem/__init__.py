"""Problem Management: problems, known errors, root causes, availability, trends."""
