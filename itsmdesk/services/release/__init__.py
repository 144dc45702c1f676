"""Release Management: releases, plans, the definitive media library and rollout waves."""
