"""Knowledge Management: articles and their links."""
