"""Taking over the Prisma-era database: the import's id map and quarantine."""
