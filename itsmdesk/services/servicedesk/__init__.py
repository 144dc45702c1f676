"""Service Desk and Incident Management: tickets, queues, SLA clocks, escalation, announcements."""
