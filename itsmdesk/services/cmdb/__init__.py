"""Configuration Management: CIs, relations, the tree, impact, CSV import/export, baselines, audits."""
