"""Procurement has no setup table of its own: its tax codes and GL accounts are
accounting's. Purchase orders and product lines change only through the procurement
screens and services, so they are not in the admin."""
