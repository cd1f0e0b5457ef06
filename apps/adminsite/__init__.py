"""The admin site: Piccolo Admin configured for gatewaydb (audit, soft delete, big tables)."""
